// The edge's two buckets: static assets (private, read only by CloudFront through Origin Access
// Control) and the edge log bucket (CloudFront standard logs and S3 server access logs).
// The plan's `--acl public-read` is replaced on purpose: nothing in either bucket is public.
// Both use SSE-S3: CloudFront standard logging cannot write to SSE-KMS buckets, and OAC reads of SSE-KMS
// objects would need the data key's policy to trust CloudFront (static assets are public content anyway).
import { Construct } from 'constructs';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { PrivateBucket } from '../constructs/private-bucket';

export interface EdgeLogBucketProps {
  bucketName: string;
  accountId: string;
  /** Days logs are kept. */
  retentionDays: number;
  /** @default false */
  forceDestroy?: boolean;
}

/** Prefixes inside the edge log bucket. */
export const EDGE_LOG_PREFIXES = { cloudFront: 'cloudfront/', staticAssets: 's3/static-assets/' } as const;

/**
 * CloudFront standard logs and S3 server access logs. CloudFront's standard logging still writes
 * with an ACL grant (to the awslogsdelivery account, added by CloudFront when the distribution is
 * created), so this one bucket keeps ACLs enabled (BucketOwnerPreferred); public access stays blocked.
 */
export class EdgeLogBucket extends PrivateBucket {
  readonly policy: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: EdgeLogBucketProps) {
    super(scope, id, {
      bucketName: props.bucketName,
      objectOwnership: 'BucketOwnerPreferred',
      forceDestroy: props.forceDestroy,
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [
        { id: 'expire-logs', status: 'Enabled', filter: [{ prefix: '' }], expiration: [{ days: props.retentionDays }] },
      ],
    });
    this.policy = new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'S3ServerAccessLogs',
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: `${this.bucket.arn}/${EDGE_LOG_PREFIXES.staticAssets}*`,
            Condition: { StringEquals: { 'aws:SourceAccount': props.accountId } },
          },
          this.denyInsecureTransport(),
        ],
      }),
    });
  }

  /** Host name CloudFront's logging_config takes. */
  get domainName(): string {
    return this.bucket.bucketDomainName;
  }
}

export interface StaticAssetsBucketProps {
  bucketName: string;
  /** Server access logs go here, under EDGE_LOG_PREFIXES.staticAssets. */
  logBucket: EdgeLogBucket;
  /** Days a replaced or deleted asset version is kept. @default 30 */
  noncurrentVersionDays?: number;
  /** @default false */
  forceDestroy?: boolean;
}

/** Private, versioned, encrypted, access-logged bucket; only one CloudFront distribution may read it. */
export class StaticAssetsBucket extends PrivateBucket {
  constructor(scope: Construct, id: string, props: StaticAssetsBucketProps) {
    super(scope, id, { bucketName: props.bucketName, forceDestroy: props.forceDestroy });
    new S3BucketVersioningA(this, 'versioning', {
      bucket: this.bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketLoggingA(this, 'logging', {
      bucket: this.bucket.id,
      targetBucket: props.logBucket.bucket.id,
      targetPrefix: EDGE_LOG_PREFIXES.staticAssets,
      dependsOn: [props.logBucket.policy],
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [
        {
          id: 'expire-old-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays ?? 30 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
  }

  /** Only `distributionArn` (through its Origin Access Control) may read objects. */
  allowReadFrom(distributionArn: string): S3BucketPolicy {
    return new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'CloudFrontReadsThroughOac',
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Resource: `${this.bucket.arn}/*`,
            Condition: { StringEquals: { 'AWS:SourceArn': distributionArn } },
          },
          this.denyInsecureTransport(),
        ],
      }),
    });
  }
}
