// The one way the stack makes an S3 bucket: every public access block on, ownership enforced (ACLs off)
// unless a log-delivery service still needs ACLs, encrypted by default, and a TLS-only policy statement
// for the owner to include in its bucket policy.
import { Construct } from 'constructs';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';

export interface PrivateBucketProps {
  /** Globally unique bucket name. */
  bucketName: string;
  /**
   * SSE-KMS with this key (bucket key on). Leave it out where the writer cannot use KMS: ALB access
   * logs and CloudFront standard logs support only SSE-S3.
   * @default SSE-S3 (AES256)
   */
  kmsKeyArn?: string;
  /** BucketOwnerEnforced (ACLs off), or BucketOwnerPreferred where a service still writes with ACLs. @default BucketOwnerEnforced */
  objectOwnership?: 'BucketOwnerEnforced' | 'BucketOwnerPreferred';
  /** Let `terraform destroy` empty the bucket. @default false */
  forceDestroy?: boolean;
}

export class PrivateBucket extends Construct {
  readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, props: PrivateBucketProps) {
    super(scope, id);
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
      rule: { objectOwnership: props.objectOwnership ?? 'BucketOwnerEnforced' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: this.bucket.id,
      rule: [
        {
          applyServerSideEncryptionByDefault: props.kmsKeyArn
            ? { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.kmsKeyArn }
            : { sseAlgorithm: 'AES256' },
          bucketKeyEnabled: true,
        },
      ],
    });
  }

  get arn(): string {
    return this.bucket.arn;
  }

  /** Bucket policy statement refusing any request not made over TLS. */
  denyInsecureTransport(): Record<string, unknown> {
    return {
      Sid: 'DenyWithoutTls',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    };
  }
}
