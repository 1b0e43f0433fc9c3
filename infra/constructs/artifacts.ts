// Private artifacts bucket: release bundles the image build downloads. SSE-KMS with the data key,
// versioned, every public access block on, TLS only.
import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import type { ServiceRole } from './iam';
import { PrivateBucket } from './private-bucket';

export interface ArtifactsBucketProps {
  bucketName: string;
  /** KMS key ARN for SSE-KMS (the data key). */
  kmsKeyArn: string;
  /** Days a replaced or deleted object version is kept. @default 90 */
  noncurrentVersionDays?: number;
  /** Let `terraform destroy` empty the bucket. @default false */
  forceDestroy?: boolean;
}

export class ArtifactsBucket extends PrivateBucket {
  readonly kmsKeyArn: string;
  /** Depend on it before uploading (the TLS-only policy and encryption are in place). */
  readonly policy: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: ArtifactsBucketProps) {
    super(scope, id, { bucketName: props.bucketName, kmsKeyArn: props.kmsKeyArn, forceDestroy: props.forceDestroy });
    this.kmsKeyArn = props.kmsKeyArn;
    new S3BucketVersioningA(this, 'versioning', {
      bucket: this.bucket.id,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: this.bucket.id,
      rule: [
        {
          id: 'expire-old-versions',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays ?? 90 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
    });
    this.policy = new S3BucketPolicy(this, 'policy', {
      bucket: this.bucket.id,
      policy: Fn.jsonencode({ Version: '2012-10-17', Statement: [this.denyInsecureTransport()] }),
    });
  }

  /**
   * `role` may download objects under `prefix` and decrypt them (through S3 only). A prefix, not the one
   * key: a policy naming each bundle would change on every deploy and race the build that reads it.
   */
  grantReadBundles(role: ServiceRole, prefix: string, region: string): void {
    role.addToPolicy({ sid: 'ReadBundles', actions: ['s3:GetObject'], resources: [`${this.bucket.arn}/${prefix}*`] });
    role.addToPolicy({
      sid: 'DecryptBundles',
      actions: ['kms:Decrypt'],
      resources: [this.kmsKeyArn],
      conditions: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${region}.amazonaws.com`] }],
    });
  }

  get name(): string {
    return this.bucket.bucket;
  }
}
