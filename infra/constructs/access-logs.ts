// Private, encrypted S3 bucket receiving the ALB's access logs.
import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { elbLogDeliveryPrincipal } from '../config/elb-accounts';
import { partitionOf } from './iam';
import { PrivateBucket } from './private-bucket';

export interface AccessLogBucketProps {
  /** Globally unique bucket name. */
  bucketName: string;
  accountId: string;
  region: string;
  /** Key prefix the ALB writes under. @default alb */
  prefix?: string;
  /** Days logs are kept. */
  retentionDays: number;
  /** Let `terraform destroy` empty the bucket. @default false */
  forceDestroy?: boolean;
}

export class AccessLogBucket extends PrivateBucket {
  readonly prefix: string;
  /** Depend on this before pointing the ALB at the bucket (ELB checks it can write). */
  readonly policy: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    // ALB log delivery supports only SSE-S3 (AES256), not KMS.
    super(scope, id, { bucketName: props.bucketName, forceDestroy: props.forceDestroy });
    this.prefix = props.prefix ?? 'alb';
    const partition = partitionOf(props.region);
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [
        { id: 'expire-logs', status: 'Enabled', filter: [{ prefix: '' }], expiration: [{ days: props.retentionDays }] },
      ],
    });
    this.policy = new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: Fn.jsonencode({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ElbWritesAccessLogs',
            Effect: 'Allow',
            Principal: elbLogDeliveryPrincipal(props.region, partition),
            Action: 's3:PutObject',
            Resource: `${this.bucket.arn}/${this.prefix}/AWSLogs/${props.accountId}/*`,
          },
          {
            Sid: 'DenyWithoutTls',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    });
  }
}
