// Private, encrypted S3 bucket receiving the ALB's access logs.
import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { elbLogDeliveryPrincipal } from '../config/elb-accounts';
import { partitionOf } from './iam';

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

export class AccessLogBucket extends Construct {
  readonly bucket: S3Bucket;
  readonly prefix: string;
  /** Depend on this before pointing the ALB at the bucket (ELB checks it can write). */
  readonly policy: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps) {
    super(scope, id);
    this.prefix = props.prefix ?? 'alb';
    const partition = partitionOf(props.region);
    this.bucket = new S3Bucket(this, 'bucket', { bucket: props.bucketName, forceDestroy: props.forceDestroy ?? false });
    new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: this.bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    // ALB log delivery supports only SSE-S3 (AES256), not KMS.
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
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
