// The edge in front of the load balancer and the operations beside the stack (issue 4), added to a
// composed environment stack: CloudFront + WAF + static assets (+ Route 53/ACM with a domain),
// monitoring, backups, the CI deploy role, remote state, their outputs and their policy rules.
import { Aspects, TerraformOutput, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { EnvironmentConfig } from './config/environments';
import { edgeOriginName } from './config/environments';
import type { TierSpec } from './config/tiers';
import type { LoadBalancer } from './constructs/load-balancer';
import type { AppFleet } from './constructs/compute';
import type { Database } from './constructs/database';
import type { Cache } from './constructs/cache';
import type { Queues } from './constructs/queues';
import { Edge } from './edge/edge';
import { Monitoring } from './operations/monitoring';
import { DatabaseBackup } from './operations/backup';
import { CiDeployRole } from './operations/ci-deploy-role';
import { PermissionsBoundary } from './operations/permissions-boundary';
import { configureStateBackend, stateKey } from './operations/state-backend';
import { PolicyAspect } from './policies/aspect';
import { edgePolicyRules } from './policies/edge-rules';

export interface StackParts {
  environment: EnvironmentConfig;
  tier: TierSpec;
  loadBalancer: LoadBalancer;
  api: AppFleet;
  worker: AppFleet;
  database: Database;
  cache: Cache;
  queues: Queues;
}

export interface EdgeAndOperations {
  edge: Edge;
  monitoring: Monitoring;
  backup: DatabaseBackup;
  ciDeployRole?: CiDeployRole;
  boundary: PermissionsBoundary;
}

/** Provider alias for what CloudFront needs in us-east-1 (certificate, WAF, WAF logs). */
export const US_EAST_1_ALIAS = 'us_east_1';

export function addEdgeAndOperations(stack: TerraformStack, parts: StackParts): EdgeAndOperations {
  const env = parts.environment;
  const namePrefix = `cyphr-${env.name}`;
  const usEast1 = new AwsProvider(stack, 'aws-us-east-1', {
    alias: US_EAST_1_ALIAS,
    region: 'us-east-1',
    allowedAccountIds: [env.accountId],
    defaultTags: [{ tags: { Project: 'cyphr', Environment: env.name, ManagedBy: 'cdktf' } }],
  });
  const edge = new Edge(stack, 'edge', {
    namePrefix,
    accountId: env.accountId,
    usEast1,
    alb: {
      dnsName: parts.loadBalancer.dnsName,
      targetGroupArn: parts.loadBalancer.targetGroup.arn,
      forwardingListeners: parts.loadBalancer.forwardingListeners,
    },
    domain: env.domain && { ...env.domain, originName: edgeOriginName(env.domain).name },
    logRetentionDays: env.logRetentionDays,
    forceDestroy: !env.deletionProtection,
    rateLimitPer5Minutes: env.edge?.rateLimitPer5Minutes,
    authRateLimitPer5Minutes: env.edge?.authRateLimitPer5Minutes,
    priceClass: env.edge?.priceClass,
    originSecretGeneration: env.edge?.originSecretGeneration,
  });

  const { database, cache, queues } = parts;
  const monitoring = new Monitoring(stack, 'monitoring', {
    environment: env.name,
    namePrefix,
    accountId: env.accountId,
    region: env.region,
    alarmEmail: env.alarmEmail,
    alb: {
      arnSuffix: parts.loadBalancer.alb.arnSuffix,
      targetGroupArnSuffix: parts.loadBalancer.targetGroup.arnSuffix,
    },
    fleets: [parts.api, parts.worker].map((fleet) => ({ role: fleet.node.id, groupName: fleet.group.name })),
    database: {
      primaryId: database.primary.identifierInput ?? database.primary.identifier,
      replicaIds: database.replicas.map((r) => r.identifierInput ?? r.identifier),
      allocatedStorageGb: parts.tier.database.allocatedStorageGb,
    },
    cache: {
      replicationGroupId: cache.replicationGroup.replicationGroupIdInput ?? cache.replicationGroup.replicationGroupId,
    },
    queues: {
      work: [
        { label: 'messages', name: queues.messages.queue.name },
        { label: 'notifications', name: queues.notifications.queue.name },
      ],
      deadLetters: [
        { label: 'messages', name: queues.messagesDeadLetter.queue.name },
        { label: 'notifications', name: queues.deadLetter.queue.name },
      ],
    },
    mailboxRetentionDays: env.mailboxRetentionDays,
  });

  const backup = new DatabaseBackup(stack, 'backup', {
    namePrefix,
    accountId: env.accountId,
    region: env.region,
    resourceArns: [database.primary.arn],
    schedule: env.backup?.schedule,
    retentionDays: env.backup?.retentionDays,
    protectRecoveryPoints: env.deletionProtection,
    forceDestroy: !env.deletionProtection,
    protectKey: env.deletionProtection,
    vaultLock: env.backup?.vaultLock ?? env.production,
    copyToVaultArn: env.backup?.copyToVaultArn,
  });

  // Every role of the stack carries it, with or without a deploy role.
  const copyRegion = /^arn:[^:]+:backup:([^:]+):/.exec(env.backup?.copyToVaultArn ?? '')?.[1];
  const boundary = new PermissionsBoundary(stack, 'permissions-boundary', {
    namePrefix,
    accountId: env.accountId,
    region: env.region,
    backupCopy: copyRegion ? { region: copyRegion } : undefined,
  });
  boundary.applyToStack();
  const backend = configureStateBackend(stack, env.stateBackend);
  const ciDeployRole = env.ci
    ? new CiDeployRole(stack, 'ci-deploy', {
        namePrefix,
        accountId: env.accountId,
        region: env.region,
        githubRepository: env.ci.githubRepository,
        githubEnvironment: env.name,
        existingOidcProviderArn: env.ci.existingOidcProviderArn,
        stateBackend:
          backend && env.stateBackend
            ? { bucket: env.stateBackend.bucket, key: stateKey(stack, env.stateBackend) }
            : undefined,
        hostedZoneId: env.domain?.hostedZoneId,
        boundary,
      })
    : undefined;

  const out = (id: string, value: string, description: string) =>
    new TerraformOutput(stack, id, { value, description });
  out('cdn_url', edge.url, 'Where clients connect (CloudFront)');
  out('cdn_distribution_id', edge.distribution.distribution.id, 'CloudFront distribution (invalidations)');
  out(
    'static_assets_bucket',
    edge.staticAssets.bucket.bucket,
    'Upload static assets here (served through CloudFront only)',
  );
  out('alarm_topic_arn', monitoring.topic.arn, 'SNS topic the alarms notify');
  out('backup_vault_name', backup.vault.name, 'AWS Backup vault of the database recovery points');
  if (ciDeployRole)
    out(
      'ci_deploy_role_arn',
      ciDeployRole.arn,
      'GitHub Actions role (set as AWS_DEPLOY_ROLE_ARN in the GitHub environment)',
    );

  Aspects.of(stack).add(new PolicyAspect({ production: env.production, rules: edgePolicyRules(stack) }));
  return { edge, monitoring, backup, ciDeployRole, boundary };
}
