// Data-at-rest key, and the stack's whole traffic matrix in one place.
import { Construct } from 'constructs';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { Connections } from './connections';
import { partitionOf } from './iam';

export const API_PORT = 3001;
export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;
export const HTTPS_PORT = 443;
export const HTTP_PORT = 80;

export interface DataKeyProps {
  /** Prefix of every name, e.g. cyphr-staging. */
  namePrefix: string;
  accountId: string;
  region: string;
  /** Days KMS waits before deleting the key. @default 30 */
  deletionWindowDays?: number;
  /**
   * Deny disabling or deleting the key to every principal: RDS snapshots (and so AWS Backup's recovery points of
   * the database) are encrypted with it, so losing it loses the backups too. @default false
   */
  protectFromDeletion?: boolean;
  /**
   * Another account that receives copies of the database's recovery points: a copy of an RDS snapshot stays
   * encrypted with this key until the destination re-encrypts it, so that account may use it for the copy. @default none
   */
  backupCopyAccountId?: string;
}

/** Customer managed key (rotated yearly) for RDS, ElastiCache, SQS, Secrets Manager and CloudWatch Logs. */
export class DataKey extends Construct {
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: DataKeyProps) {
    super(scope, id);
    this.key = new KmsKey(this, 'key', {
      description: `${props.namePrefix} data at rest`,
      enableKeyRotation: true,
      deletionWindowInDays: props.deletionWindowDays ?? 30,
      policy: JSON.stringify(dataKeyPolicy(props)),
    });
    new KmsAlias(this, 'alias', { name: `alias/${props.namePrefix}-data`, targetKeyId: this.key.keyId });
  }
}

export interface SecurityProps {
  /** Prefix of every name, e.g. cyphr-staging. */
  namePrefix: string;
  vpcId: string;
  /**
   * Where the ALB is reached from: CloudFront's origin-facing managed prefix list (config/cloudfront-prefix-lists.ts)
   * on the one port its origin uses (443 with a domain). One port only: the list weighs ~55 rules of the group's 60.
   */
  albOrigin: { prefixListId: string; port: number };
}

/** The security groups and, in one method, every connection allowed between them. */
export class Security extends Construct {
  readonly alb: Connections;
  readonly api: Connections;
  readonly worker: Connections;
  readonly database: Connections;
  readonly cache: Connections;
  /** Interface VPC endpoints (SQS, Secrets Manager, SSM). */
  readonly endpoints: Connections;

  constructor(scope: Construct, id: string, props: SecurityProps) {
    super(scope, id);
    const group = (gid: string, description: string, defaultPort?: number) =>
      new Connections(this, gid, { vpcId: props.vpcId, name: `${props.namePrefix}-${gid}`, description, defaultPort });
    this.alb = group('alb', 'Cyphr ALB: from CloudFront only');
    this.api = group('api', 'Cyphr API instances', API_PORT);
    this.worker = group('worker', 'Cyphr worker instances');
    this.database = group('database', 'Cyphr PostgreSQL', POSTGRES_PORT);
    this.cache = group('cache', 'Cyphr Redis', REDIS_PORT);
    this.endpoints = group('endpoints', 'Cyphr interface VPC endpoints', HTTPS_PORT);
    this.allowTraffic(props.albOrigin);
  }

  /** Everything that may talk to anything. Nothing else is open, inbound or outbound. */
  private allowTraffic(albOrigin: SecurityProps['albOrigin']): void {
    // Clients reach CloudFront (WAF in front); the ALB accepts CloudFront's origin-facing addresses, nobody else.
    this.alb.allowFromPrefixList(albOrigin.prefixListId, 'cloudfront', albOrigin.port, 'CloudFront origin requests');
    this.api.allowDefaultPortFrom(this.alb, 'ALB to the API');
    for (const app of [this.api, this.worker]) {
      const role = app.node.id;
      this.database.allowDefaultPortFrom(app, `${role} to PostgreSQL`);
      this.cache.allowDefaultPortFrom(app, `${role} to Redis`);
      this.endpoints.allowDefaultPortFrom(app, `${role} to AWS APIs through interface endpoints`);
      app.allowToInternet(HTTPS_PORT, `${role} to AWS APIs without an endpoint (CloudWatch, S3), through NAT`);
    }
  }
}

function dataKeyPolicy(props: DataKeyProps): Record<string, unknown> {
  const base = logsKeyPolicy(props.accountId, props.region) as { Statement: Record<string, unknown>[] };
  const partition = partitionOf(props.region);
  const statements = [...base.Statement];
  if (props.backupCopyAccountId) {
    statements.push(
      {
        Sid: 'BackupCopyAccountReadsCopies',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${props.backupCopyAccountId}:root` },
        Action: ['kms:DescribeKey', 'kms:Decrypt'],
        Resource: '*',
      },
      {
        Sid: 'BackupCopyAccountGrantsToAwsBackup',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${props.backupCopyAccountId}:root` },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    );
  }
  if (props.protectFromDeletion) statements.push(denyKeyDestruction());
  return { ...base, Statement: statements };
}

/**
 * Key policy statement: nobody may disable the key or schedule its deletion (destroying a key destroys all it
 * encrypts, backups included). Lifting it takes a key policy change, which the deploy role may not make.
 */
export function denyKeyDestruction(): Record<string, unknown> {
  return {
    Sid: 'NobodyDisablesOrDeletesThisKey',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: ['kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:DeleteImportedKeyMaterial'],
    Resource: '*',
  };
}

/**
 * Policy of a key that encrypts log groups: the account root administers it through IAM, and CloudWatch
 * Logs in `region` may use it for this account's log groups there. (The data key here; WAF's us-east-1 key.)
 */
export function logsKeyPolicy(accountId: string, region: string): Record<string, unknown> {
  const partition = partitionOf(region);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AccountAdministersThroughIam',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'CloudWatchLogsEncryptsThisAccountsLogGroups',
        Effect: 'Allow',
        Principal: { Service: `logs.${region}.amazonaws.com` },
        Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        Resource: '*',
        Condition: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${accountId}:log-group:*` },
        },
      },
    ],
  };
}
