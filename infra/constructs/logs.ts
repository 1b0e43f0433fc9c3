// CloudWatch log groups: always KMS-encrypted, always with a retention.
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
