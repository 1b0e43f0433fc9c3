// CloudWatch log groups: always KMS-encrypted, always with a retention. Every group something writes to is
// made here by Terraform, never by the writer (an agent or a service would make it unencrypted, without
// retention, and keep it after `terraform destroy`, so the next apply of the same stack would collide).
import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';

export interface LogGroupSettings {
  /** KMS key ARN (the data key). */
  kmsKeyArn: string;
  /** Days to keep events. */
  retentionDays: number;
}

export function encryptedLogGroup(
  scope: Construct,
  id: string,
  name: string,
  settings: LogGroupSettings,
): CloudwatchLogGroup {
  return new CloudwatchLogGroup(scope, id, {
    name,
    kmsKeyId: settings.kmsKeyArn,
    retentionInDays: settings.retentionDays,
  });
}

/** The processes whose output the CloudWatch agent ships, each to its own group. */
export const APP_LOG_STREAMS = ['api', 'worker', 'migrate'] as const;
export type AppLogStream = (typeof APP_LOG_STREAMS)[number];

/** Where the agent puts the Prometheus scrapes (embedded metric format, turned into metrics by CloudWatch). */
export const METRICS_LOG_STREAM = 'metrics';

/** `/cyphr/<environment>/<stream>`: the names the agent config and the IAM grants share. */
export function appLogGroupName(environment: string, stream: AppLogStream | typeof METRICS_LOG_STREAM): string {
  return `/cyphr/${environment}/${stream}`;
}

export interface AppLogGroupsProps {
  /** Environment name (staging, production). */
  environment: string;
  logs: LogGroupSettings;
}

/** The application's log groups (one per process, and the metrics scrapes), shipped by the CloudWatch agent. */
export class AppLogGroups extends Construct {
  readonly environment: string;
  readonly groups: Record<AppLogStream, CloudwatchLogGroup>;
  readonly metrics: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: AppLogGroupsProps) {
    super(scope, id);
    this.environment = props.environment;
    const group = (stream: AppLogStream | typeof METRICS_LOG_STREAM) =>
      encryptedLogGroup(this, stream, appLogGroupName(props.environment, stream), props.logs);
    this.groups = { api: group('api'), worker: group('worker'), migrate: group('migrate') };
    this.metrics = group(METRICS_LOG_STREAM);
  }

  /** ARNs a role's agent writes to: its own process, the migration (it runs before either), the metrics. */
  arnsFor(role: 'api' | 'worker'): string[] {
    return [this.groups[role].arn, this.groups.migrate.arn, this.metrics.arn];
  }
}
