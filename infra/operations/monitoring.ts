// Operations beside the topology: the CyphrMetrics dashboard and the alarms, which notify an SNS
// topic (encrypted with a key CloudWatch may use) and, when configured, an e-mail address.
import { Construct } from 'constructs';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { partitionOf } from '../constructs/iam';
import { alarmSpecs, DEFAULT_THRESHOLDS, type AlarmThresholds } from './alarms';
import { dashboardBody } from './dashboard';
import { metricsNamespace } from '../constructs/cloudwatch-agent';
import type { MonitoredStack } from './targets';

export interface MonitoringProps extends MonitoredStack {
  /** Environment name; the dashboard is CyphrMetrics-<environment>. */
  environment: string;
  accountId: string;
  /** Alarm e-mails (the address confirms the subscription). @default none: the topic only */
  alarmEmail?: string;
  /** @default DEFAULT_THRESHOLDS */
  thresholds?: Partial<AlarmThresholds>;
}

export class Monitoring extends Construct {
  readonly topic: SnsTopic;
  readonly dashboard: CloudwatchDashboard;
  readonly alarms: CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const key = new KmsKey(this, 'topic-key', {
      description: `${props.namePrefix} alarm topic`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify(topicKeyPolicy(props.accountId, props.region)),
    });
    new KmsAlias(this, 'topic-key-alias', { name: `alias/${props.namePrefix}-alarms`, targetKeyId: key.keyId });
    this.topic = new SnsTopic(this, 'topic', { name: `${props.namePrefix}-alarms`, kmsMasterKeyId: key.arn });
    new SnsTopicPolicy(this, 'topic-policy', {
      arn: this.topic.arn,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: this.topic.arn,
            Condition: { StringEquals: { 'aws:SourceAccount': props.accountId } },
          },
          {
            Sid: 'DenyWithoutTls',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Resource: this.topic.arn,
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    });
    if (props.alarmEmail) {
      new SnsTopicSubscription(this, 'email', {
        topicArn: this.topic.arn,
        protocol: 'email',
        endpoint: props.alarmEmail,
      });
    }
    const monitored = { processMetricsNamespace: metricsNamespace(props.environment), ...props };
    this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: `CyphrMetrics-${props.environment}`,
      dashboardBody: JSON.stringify(dashboardBody(monitored)),
    });
    const thresholds = { ...DEFAULT_THRESHOLDS, ...props.thresholds };
    this.alarms = alarmSpecs(monitored, thresholds).map(
      ({ id: alarmId, ...spec }) =>
        new CloudwatchMetricAlarm(this, alarmId, {
          ...spec,
          alarmActions: [this.topic.arn],
          okActions: [this.topic.arn],
        }),
    );
  }
}

/** Account root administers the key through IAM; CloudWatch alarms may encrypt messages to the topic. */
function topicKeyPolicy(accountId: string, region: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AccountAdministersThroughIam',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partitionOf(region)}:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'CloudWatchPublishesToEncryptedTopic',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
      },
    ],
  };
}
