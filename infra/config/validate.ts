// Config validation: a table of rules, every failure collected, each naming environment and field.
// Runs before any construct is made.
import { cidrsOverlap, parseCidr } from './cidr';
import { PUSH_CONFIG_PROVIDERS, type EnvironmentConfig } from './environments';
import { isTierName, TIERS } from './tiers';
import { cloudFrontPrefixListId } from './cloudfront-prefix-lists';

/** CloudWatch Logs accepts only these retention values. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

interface Rule {
  field: string;
  condition: (env: EnvironmentConfig) => boolean;
  message: (env: EnvironmentConfig) => string;
}

const HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

/** A WAF rate-based rule's limit, when set: WAF accepts 10 to 2,000,000,000 requests per 5 minutes. */
function wafRateLimit(field: string, limit: (env: EnvironmentConfig) => number | undefined): Rule {
  return {
    field,
    condition: (e) => {
      const value = limit(e);
      return value !== undefined && !(Number.isInteger(value) && value >= 10 && value <= 2_000_000_000);
    },
    message: (e) => `must be an integer from 10 to 2000000000 (WAF's limits), got ${limit(e)}`,
  };
}

/** An https URL with a public host name: the push gateway is reached across the internet, never in plain text. */
function httpsUrlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string') return 'is required when push.provider is "webhook"';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (parsed.protocol !== 'https:') return `must be https, got "${url}"`;
  if (!HOST.test(parsed.hostname)) return `needs a host name, got "${parsed.hostname}"`;
  if (parsed.username || parsed.password) return 'must not carry credentials (the request is signed instead)';
  if (!/^[^\n'"`\\$ ]+$/.test(url))
    return 'must not contain quotes, spaces, backslashes or "$" (it goes into user data)';
  return undefined;
}

const RULES: Rule[] = [
  {
    field: 'mailboxRetentionDays',
    condition: (e) =>
      e.mailboxRetentionDays !== undefined &&
      !(Number.isInteger(e.mailboxRetentionDays) && e.mailboxRetentionDays >= 1 && e.mailboxRetentionDays <= 365),
    message: (e) => `must be a whole number of days from 1 to 365, got ${e.mailboxRetentionDays}`,
  },
  {
    field: 'push.provider',
    condition: (e) => e.push !== undefined && !PUSH_CONFIG_PROVIDERS.includes(e.push.provider),
    message: (e) => `must be one of ${PUSH_CONFIG_PROVIDERS.join(', ')}, got "${e.push?.provider}"`,
  },
  {
    field: 'push.url',
    condition: (e) => e.push?.provider === 'webhook' && httpsUrlProblem(e.push.url) !== undefined,
    message: (e) => httpsUrlProblem(e.push?.provider === 'webhook' ? e.push.url : undefined) ?? '',
  },
  {
    field: 'push.url',
    condition: (e) => e.push?.provider === 'log' && 'url' in e.push,
    message: () => 'only a webhook has a URL: set push.provider to "webhook" or drop the URL',
  },
  {
    field: 'tier',
    condition: (e) => !isTierName(e.tier),
    message: (e) => `unknown tier "${e.tier}" (known: ${Object.keys(TIERS).join(', ')})`,
  },
  {
    field: 'accountId',
    condition: (e) => !/^\d{12}$/.test(e.accountId ?? ''),
    message: (e) => `must be 12 digits, got "${e.accountId}"`,
  },
  {
    field: 'region',
    condition: (e) => !REGION.test(e.region ?? ''),
    message: (e) => `"${e.region}" is not an AWS region name`,
  },
  {
    field: 'availabilityZones',
    condition: (e) => !Array.isArray(e.availabilityZones) || new Set(e.availabilityZones).size !== 3,
    message: (e) => `needs exactly 3 distinct availability zones, got ${JSON.stringify(e.availabilityZones)}`,
  },
  {
    field: 'availabilityZones',
    condition: (e) => (e.availabilityZones ?? []).some((az) => !new RegExp(`^${e.region}[a-z]$`).test(az)),
    message: (e) =>
      `every zone must be in region ${e.region} (e.g. ${e.region}a), got ${JSON.stringify(e.availabilityZones)}`,
  },
  {
    field: 'vpcCidr',
    condition: (e) => !parseCidr(e.vpcCidr ?? ''),
    message: (e) => `"${e.vpcCidr}" is not a valid IPv4 network CIDR`,
  },
  {
    field: 'vpcCidr',
    condition: (e) => {
      const c = parseCidr(e.vpcCidr ?? '');
      return !!c && (c.prefix < 16 || c.prefix > 20);
    },
    message: (e) => `prefix must be /16 to /20 (9 subnets are carved from it), got ${e.vpcCidr}`,
  },
  {
    field: 'image',
    condition: (e) =>
      typeof e.image !== 'object' || e.image === null || 'amiId' in e.image === 'parentImageArn' in e.image,
    message: () => 'must be { amiId } (an existing AMI) or { parentImageArn, ... } (built by EC2 Image Builder)',
  },
  {
    field: 'image.amiId',
    condition: (e) => !!e.image && 'amiId' in e.image && !/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/.test(e.image.amiId ?? ''),
    message: (e) => `"${(e.image as { amiId?: string }).amiId}" is not an AMI id`,
  },
  {
    field: 'image.parentImageArn',
    condition: (e) =>
      !!e.image &&
      'parentImageArn' in e.image &&
      !new RegExp(
        `^arn:aws[a-z-]*:imagebuilder:${e.region}:(aws|\\d{12}):image/[a-z0-9-]+/(\\d+|x)\\.(\\d+|x)\\.(\\d+|x)(/\\d+)?$`,
      ).test(e.image.parentImageArn ?? ''),
    message: (e) =>
      `"${(e.image as { parentImageArn?: string }).parentImageArn}" is not an Image Builder image ARN in ${e.region} (e.g. arn:aws:imagebuilder:${e.region}:aws:image/amazon-linux-2023-x86/x.x.x)`,
  },
  {
    field: 'image.nodeMajor',
    condition: (e) =>
      !!e.image &&
      'parentImageArn' in e.image &&
      e.image.nodeMajor !== undefined &&
      ![20, 22].includes(e.image.nodeMajor),
    message: (e) => `must be 20 or 22 (package.json engines), got ${(e.image as { nodeMajor?: number }).nodeMajor}`,
  },
  {
    field: 'image.buildInstanceType',
    condition: (e) =>
      !!e.image &&
      'parentImageArn' in e.image &&
      e.image.buildInstanceType !== undefined &&
      !/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(e.image.buildInstanceType),
    message: (e) => `"${(e.image as { buildInstanceType?: string }).buildInstanceType}" is not an EC2 instance type`,
  },
  {
    field: 'backupRetentionDays',
    condition: (e) =>
      !Number.isInteger(e.backupRetentionDays) || e.backupRetentionDays < 1 || e.backupRetentionDays > 35,
    message: (e) => `must be 1-35 days, got ${e.backupRetentionDays}`,
  },
  {
    field: 'logRetentionDays',
    condition: (e) => !LOG_RETENTION_DAYS.includes(e.logRetentionDays),
    message: (e) => `${e.logRetentionDays} is not a CloudWatch retention value (${LOG_RETENTION_DAYS.join(', ')})`,
  },
  {
    field: 'secretRecoveryWindowDays',
    // Secrets Manager: ForceDeleteWithoutRecovery (0) or a window of 7-30 days.
    condition: (e) => {
      const days = e.secretRecoveryWindowDays;
      return days !== undefined && !(days === 0 || (Number.isInteger(days) && days >= 7 && days <= 30));
    },
    message: (e) => `must be 0 (delete at once) or 7-30 days, got ${e.secretRecoveryWindowDays}`,
  },
  {
    field: 'domain.name',
    condition: (e) => !!e.domain && !HOST.test(e.domain.name ?? ''),
    message: (e) => `"${e.domain?.name}" is not a host name`,
  },
  {
    field: 'domain.hostedZoneId',
    condition: (e) => !!e.domain && !/^Z[A-Z0-9]{1,31}$/.test(e.domain.hostedZoneId ?? ''),
    message: (e) => `"${e.domain?.hostedZoneId}" is not a Route 53 hosted zone id`,
  },
  {
    field: 'alarmEmail',
    condition: (e) => !!e.alarmEmail && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e.alarmEmail),
    message: (e) => `"${e.alarmEmail}" is not an e-mail address`,
  },
  {
    field: 'deletionProtection',
    condition: (e) => e.production && !e.deletionProtection,
    message: () => 'must be true in a production environment',
  },
  {
    field: 'multiAzDatabase',
    condition: (e) => e.production && e.multiAzDatabase === false,
    message: () => 'must not be false in a production environment',
  },
  {
    field: 'name',
    condition: (e) => !/^[a-z][a-z0-9-]{1,20}$/.test(e.name ?? ''),
    message: (e) => `"${e.name}" must be 2-21 lower-case letters, digits or dashes`,
  },
  // Edge and operations.
  wafRateLimit('edge.rateLimitPer5Minutes', (e) => e.edge?.rateLimitPer5Minutes),
  {
    field: 'edge.originSecretGeneration',
    condition: (e) =>
      e.edge?.originSecretGeneration !== undefined &&
      !(Number.isInteger(e.edge.originSecretGeneration) && e.edge.originSecretGeneration >= 1),
    message: (e) => `must be a positive integer, got ${e.edge?.originSecretGeneration}`,
  },
  {
    field: 'domain',
    condition: (e) => e.production && !e.domain,
    message: () =>
      'required in a production environment: without a certificate for the ALB, CloudFront reaches it over plain HTTP',
  },
  {
    field: 'domain',
    condition: (e) => !e.production && !e.domain && !e.edge?.plainHttpOrigin,
    message: () =>
      'required for HTTPS between CloudFront and the ALB; a throwaway environment without one must set edge.plainHttpOrigin: true',
  },
  {
    field: 'edge.plainHttpOrigin',
    condition: (e) => e.production && !!e.edge?.plainHttpOrigin,
    message: () => 'must not be set in a production environment',
  },
  {
    field: 'edge.originPrefixListId',
    condition: (e) => !cloudFrontPrefixListId(e.region, e.edge?.originPrefixListId),
    message: (e) =>
      `no CloudFront origin-facing prefix list known for ${e.region}: set it (aws ec2 describe-managed-prefix-lists ` +
      '--filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing)',
  },
  {
    field: 'edge.originPrefixListId',
    condition: (e) =>
      e.edge?.originPrefixListId !== undefined && !/^pl-[0-9a-f]{8,17}$/.test(e.edge.originPrefixListId),
    message: (e) => `"${e.edge?.originPrefixListId}" is not a managed prefix list id`,
  },
  wafRateLimit('edge.authRateLimitPer5Minutes', (e) => e.edge?.authRateLimitPer5Minutes),
  {
    field: 'backup.copyToVaultArn',
    condition: (e) =>
      e.backup?.copyToVaultArn !== undefined &&
      !/^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[A-Za-z0-9_.-]{2,50}$/.test(e.backup.copyToVaultArn),
    message: (e) => `"${e.backup?.copyToVaultArn}" is not a backup vault ARN`,
  },
  {
    field: 'backup.copyToVaultArn',
    condition: (e) => {
      const m = /^arn:[^:]+:backup:([^:]+):(\d{12}):/.exec(e.backup?.copyToVaultArn ?? '');
      return !!m && m[1] === e.region && m[2] === e.accountId;
    },
    message: () => 'must be in another region or another account: a copy beside the original survives nothing',
  },
  {
    field: 'backup.vaultLock',
    condition: (e) => !!e.backup?.vaultLock && !e.deletionProtection,
    message: () =>
      'needs deletionProtection: a locked vault holding recovery points cannot be deleted, so the stack could never be destroyed',
  },
  {
    field: 'backup.retentionDays',
    condition: (e) =>
      e.backup?.retentionDays !== undefined &&
      !(Number.isInteger(e.backup.retentionDays) && e.backup.retentionDays >= 1 && e.backup.retentionDays <= 36500),
    message: (e) => `must be 1-36500 days, got ${e.backup?.retentionDays}`,
  },
  {
    field: 'backup.schedule',
    condition: (e) => e.backup?.schedule !== undefined && !/^(cron|rate)\(.+\)$/.test(e.backup.schedule),
    message: (e) => `"${e.backup?.schedule}" is not a cron(...) or rate(...) expression`,
  },
  {
    field: 'ci.githubRepository',
    condition: (e) => !!e.ci && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(e.ci.githubRepository ?? ''),
    message: (e) => `must be owner/name, got "${e.ci?.githubRepository}"`,
  },
  {
    field: 'ci.existingOidcProviderArn',
    condition: (e) =>
      !!e.ci?.existingOidcProviderArn &&
      !/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/.test(
        e.ci.existingOidcProviderArn,
      ),
    message: (e) => `"${e.ci?.existingOidcProviderArn}" is not the ARN of a GitHub OIDC provider`,
  },
  {
    field: 'ci.existingOidcProviderArn',
    condition: (e) => {
      const account = /^arn:[^:]+:iam::(\d{12}):/.exec(e.ci?.existingOidcProviderArn ?? '')?.[1];
      return !!account && account !== e.accountId;
    },
    message: (e) => `"${e.ci?.existingOidcProviderArn}" is in another account than accountId ${e.accountId}`,
  },
  {
    field: 'stateBackend.bucket',
    condition: (e) => !!e.stateBackend && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(e.stateBackend.bucket ?? ''),
    message: (e) => `"${e.stateBackend?.bucket}" is not an S3 bucket name`,
  },
  {
    field: 'stateBackend.region',
    condition: (e) => !!e.stateBackend && !REGION.test(e.stateBackend.region ?? ''),
    message: (e) => `"${e.stateBackend?.region}" is not an AWS region name`,
  },
];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid infrastructure config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Problems with one environment, each as `environment "<name>": <field>: <message>`. */
export function environmentProblems(env: EnvironmentConfig, key = env.name): string[] {
  return RULES.filter((rule) => rule.condition(env)).map(
    (rule) => `environment "${key}": ${rule.field}: ${rule.message(env)}`,
  );
}

/** Problems across environments: duplicate names and overlapping VPC CIDRs (they may be peered one day). */
export function crossEnvironmentProblems(envs: Record<string, EnvironmentConfig>): string[] {
  const problems: string[] = [];
  const entries = Object.entries(envs);
  for (const [key, env] of entries) {
    if (env.name !== key) problems.push(`environment "${key}": name: must equal its key, got "${env.name}"`);
  }
  entries.forEach(([a, x], i) =>
    entries.slice(i + 1).forEach(([b, y]) => {
      if (cidrsOverlap(x.vpcCidr, y.vpcCidr))
        problems.push(`environment "${b}": vpcCidr: ${y.vpcCidr} overlaps environment "${a}" (${x.vpcCidr})`);
    }),
  );
  return [...problems, ...oidcProviderProblems(envs)];
}

/**
 * The GitHub OIDC provider is one per account (IAM names it after the host): of the environments with a deploy
 * role in one account, one creates it and the others reference it by `ci.existingOidcProviderArn`. The creator
 * must be deletion-protected, so destroying a disposable environment never deletes what the others trust.
 */
function oidcProviderProblems(envs: Record<string, EnvironmentConfig>): string[] {
  const byAccount = new Map<string, [string, EnvironmentConfig][]>();
  for (const [key, env] of Object.entries(envs))
    if (env.ci) byAccount.set(env.accountId, [...(byAccount.get(env.accountId) ?? []), [key, env]]);
  const problems: string[] = [];
  for (const [account, members] of byAccount) {
    if (members.length < 2) continue;
    const creators = members.filter(([, env]) => !env.ci?.existingOidcProviderArn);
    const arn = `arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com`;
    for (const [key] of creators.slice(1))
      problems.push(
        `environment "${key}": ci.existingOidcProviderArn: environment "${creators[0][0]}" creates the GitHub OIDC ` +
          `provider of account ${account} (one per account); set this to ${arn}`,
      );
    for (const [key, env] of creators)
      if (!env.deletionProtection)
        problems.push(
          `environment "${key}": ci.existingOidcProviderArn: other environments in account ${account} trust the OIDC ` +
            'provider this one creates, and it has no deletion protection: let a protected environment create it',
        );
  }
  return problems;
}

/** Throws one ConfigError listing every problem; returns the environments when all are valid. */
export function validateEnvironments(envs: Record<string, EnvironmentConfig>): Record<string, EnvironmentConfig> {
  const problems = [
    ...Object.entries(envs).flatMap(([key, env]) => environmentProblems(env, key)),
    ...crossEnvironmentProblems(envs),
  ];
  if (problems.length) throw new ConfigError(problems);
  return envs;
}
