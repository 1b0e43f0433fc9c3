// Environments as data. Add one by adding an entry: constructs never name an environment.
// Replace accountId, the image's parent image ARN (or an AMI id) and the domain/hosted zone with your own before deploying.
import type { TierName } from './tiers';
import { cloudFrontPrefixListId } from './cloudfront-prefix-lists';

export interface DomainConfig {
  /** Host name clients use, e.g. api.example.com: CloudFront's alias and us-east-1 certificate. The ALB,
   * CloudFront's origin, gets `origin.<name>` and its own regional certificate (edgeOriginName). */
  name: string;
  /** Route 53 public hosted zone holding `name` (from config: plans stay offline). */
  hostedZoneId: string;
}

export interface EnvironmentConfig {
  /** Used in resource names and the stack name `cyphr-<name>`. */
  name: string;
  tier: TierName;
  /** Production turns on the strict policies (Multi-AZ, deletion protection) and longer retention. */
  production: boolean;
  /** The AWS account the stack deploys to (key policies need it; no data source asks AWS). */
  accountId: string;
  region: string;
  /** Exactly three AZ names in `region`. */
  availabilityZones: string[];
  /** VPC CIDR, /16 to /20; subnets are carved from it. Must not overlap another environment's. */
  vpcCidr: string;
  /** One NAT gateway per AZ (survives an AZ outage) or one shared (cheaper). */
  natGatewayPerAz: boolean;
  /** Deletion protection on the database and the ALB. */
  deletionProtection: boolean;
  /** RDS primary in Multi-AZ. @default production */
  multiAzDatabase?: boolean;
  /** RDS automated backup retention (1-35 days). */
  backupRetentionDays: number;
  /** CloudWatch log retention, one of the values CloudWatch accepts. */
  logRetentionDays: number;
  /** Days a deleted Secrets Manager secret can be restored: 0 (deleted at once, so a destroyed stack can be
   * created again under the same names) or 7-30. @default 30 */
  secretRecoveryWindowDays?: number;
  /** The AMI both roles run: baked from the bundle by EC2 Image Builder, or an existing one. */
  image: ImageConfig;
  /**
   * Required: CloudFront reaches the ALB over HTTPS only with a certificate for the ALB's name. Without one the
   * origin hop is plain HTTP, which only `edge.plainHttpOrigin: true` accepts, and never in production.
   */
  domain?: DomainConfig;
  /** Alarm notifications (used by the monitoring construct). */
  alarmEmail?: string;
  /** LOG_LEVEL of the API and the worker. @default info */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** CloudFront and WAF tuning. @default see EdgeConfig */
  edge?: EdgeConfig;
  /** AWS Backup of the database. @default every 6 hours, kept 30 days (the plan) */
  backup?: BackupConfig;
  /** GitHub Actions deploy role (OIDC). @default none: no OIDC provider, no role */
  ci?: CiConfig;
  /** Remote state in S3 with a lock file. @default local state (a first try needs no bucket) */
  stateBackend?: StateBackendConfig;
  /** Days an unacknowledged device-to-device message stays in its mailbox (1-365). @default 30 */
  mailboxRetentionDays?: number;
  /** Where the worker sends devices' wake-ups. @default { provider: 'log' } (pushes are only logged) */
  push?: PushConfig;
}

/**
 * `log`: pushes are written to the worker's log only (an environment without a push gateway).
 * `webhook`: each push is POSTed to `url`, a push gateway relaying to APNs/FCM, signed with a key Terraform
 * writes into Secrets Manager (`cyphr-<env>/push-webhook-signing-key`) and the worker reads by ARN.
 */
export type PushConfig = { provider: 'log' } | { provider: 'webhook'; /** https only */ url: string };

export const PUSH_CONFIG_PROVIDERS = ['log', 'webhook'] as const;

/** The worker's MAILBOX_RETENTION_DAYS default, and the environments' too. */
export const DEFAULT_MAILBOX_RETENTION_DAYS = 30;

/** The environment's push settings, with the default filled in. */
export const pushOf = (env: EnvironmentConfig): PushConfig => env.push ?? { provider: 'log' };

/** Bake the AMI from the bundle (dist/) with EC2 Image Builder (infra/constructs/image.ts). */
export interface BuildImageConfig {
  /** Image Builder parent image, Amazon Linux 2023 x86_64, in the environment's region, e.g.
   * `arn:aws:imagebuilder:eu-central-1:aws:image/amazon-linux-2023-x86/x.x.x` (x.x.x: newest at build time). */
  parentImageArn: string;
  /** Node.js major from AL2023's packages; must satisfy package.json engines. @default 22 */
  nodeMajor?: 20 | 22;
  /** Build and test instance type (x86_64). @default t3.small */
  buildInstanceType?: string;
}

/** Run an existing AMI (built elsewhere, with the bundle installed as the image component does): no Image Builder resources. */
export interface ExistingImageConfig {
  amiId: string;
}

export type ImageConfig = BuildImageConfig | ExistingImageConfig;

export function isExistingImage(image: ImageConfig): image is ExistingImageConfig {
  return 'amiId' in image;
}

export interface EdgeConfig {
  /** Requests per client IP per 5 minutes before WAF blocks it. @default 2000 */
  rateLimitPer5Minutes?: number;
  /** CloudFront price class. @default PriceClass_100 */
  priceClass?: 'PriceClass_100' | 'PriceClass_200' | 'PriceClass_All';
  /** Bump to rotate the secret origin header (README, Operations). @default 1 */
  originSecretGeneration?: number;
  /**
   * CloudFront's origin-facing managed prefix list in this region, the only source the ALB accepts.
   * @default CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS[region] (config/cloudfront-prefix-lists.ts)
   */
  originPrefixListId?: string;
  /**
   * Accept an environment without a domain, whose CloudFront-to-ALB hop is plain HTTP across the internet.
   * Only for a throwaway environment holding no real data; refused in production. @default false
   */
  plainHttpOrigin?: boolean;
  /** Requests per client IP to /v1/auth/* in any 5-minute window before WAF blocks it. @default 100 */
  authRateLimitPer5Minutes?: number;
}

export interface BackupConfig {
  /** AWS Backup schedule expression. @default cron(0 *\/6 * * ? *) */
  schedule?: string;
  /** Days a recovery point is kept. @default 30 */
  retentionDays?: number;
  /**
   * Also copy every recovery point to a vault in another region or account (its ARN, e.g.
   * arn:aws:backup:eu-west-1:333333333333:backup-vault:cyphr-production-copy), kept `retentionDays` there.
   * The destination vault and its policy (allowing this account to copy in) are made outside this stack.
   * @default none
   */
  copyToVaultArn?: string;
  /**
   * Vault Lock in compliance mode: recovery points cannot be deleted before their retention by anyone,
   * including the account root, once the cooling-off period has passed (irreversible). @default production
   */
  vaultLock?: boolean;
}

export interface CiConfig {
  /** owner/name of the GitHub repository whose workflows deploy this environment. */
  githubRepository: string;
  /** The account's GitHub OIDC provider, when it exists already (one per account). @default created by this stack */
  existingOidcProviderArn?: string;
}

export interface StateBackendConfig {
  /** Existing versioned, encrypted S3 bucket. */
  bucket: string;
  /** Region of the bucket. */
  region: string;
  /** @default cyphr/<stack name>.tfstate */
  key?: string;
  /** SSE-KMS key for the state object. @default the bucket's default encryption */
  kmsKeyId?: string;
}

/** The ALB's own name under the viewer domain: CloudFront's HTTPS origin. */
export function edgeOriginName(domain: DomainConfig): DomainConfig {
  return { name: `origin.${domain.name}`, hostedZoneId: domain.hostedZoneId };
}

/** What the ALB accepts: CloudFront's origin-facing prefix list, on HTTPS with a domain (HTTP only without one). */
export function albOrigin(env: EnvironmentConfig): { prefixListId: string; port: number } {
  const prefixListId = cloudFrontPrefixListId(env.region, env.edge?.originPrefixListId);
  if (!prefixListId) throw new Error(`environment "${env.name}": edge.originPrefixListId: unknown for ${env.region}`);
  return { prefixListId, port: env.domain ? 443 : 80 };
}

/** The account receiving backup copies, when it is not the environment's own. */
export function backupCopyAccount(env: EnvironmentConfig): string | undefined {
  const account = /^arn:[^:]+:backup:[^:]+:(\d{12}):/.exec(env.backup?.copyToVaultArn ?? '')?.[1];
  return account && account !== env.accountId ? account : undefined;
}

export const ENVIRONMENTS: Record<string, EnvironmentConfig> = {
  staging: {
    name: 'staging',
    tier: 'small',
    production: false,
    accountId: '111111111111',
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
    vpcCidr: '10.20.0.0/16',
    natGatewayPerAz: false,
    deletionProtection: false,
    backupRetentionDays: 7,
    logRetentionDays: 30,
    secretRecoveryWindowDays: 0,
    image: { parentImageArn: 'arn:aws:imagebuilder:eu-central-1:aws:image/amazon-linux-2023-x86/x.x.x' },
    // A zone of its own in the staging account (delegated from the production zone): HTTPS to the origin here too.
    domain: { name: 'api.staging.cyphr.example.com', hostedZoneId: 'Z0STAGINGEXAMPLEZONE' },
    ci: { githubRepository: 'example-org/cyphr' },
    push: { provider: 'log' },
  },
  production: {
    name: 'production',
    tier: 'medium',
    production: true,
    accountId: '222222222222',
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
    vpcCidr: '10.30.0.0/16',
    natGatewayPerAz: true,
    deletionProtection: true,
    multiAzDatabase: true,
    backupRetentionDays: 30,
    logRetentionDays: 365,
    secretRecoveryWindowDays: 30,
    image: { parentImageArn: 'arn:aws:imagebuilder:eu-central-1:aws:image/amazon-linux-2023-x86/x.x.x' },
    domain: { name: 'api.cyphr.example.com', hostedZoneId: 'Z0123456789EXAMPLEZONE' },
    alarmEmail: 'ops@cyphr.example.com',
    ci: { githubRepository: 'example-org/cyphr' },
    push: { provider: 'webhook', url: 'https://push.cyphr.example.com/v1/wake' },
  },
};
