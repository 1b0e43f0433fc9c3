// One stack per environment, composed in the order traffic flows: load balancer -> compute -> data,
// on top of the network, with security (keys, traffic matrix) beside it.
import { Construct, type Node } from 'constructs';
import { Aspects, TerraformOutput, TerraformStack, Token, type TerraformElement } from 'cdktf';
import { AddressBook, elementOf } from './addresses';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { EnvironmentConfig } from './config/environments';
import type { TierSpec } from './config/tiers';
import { Network } from './constructs/network';
import { Endpoints } from './constructs/endpoints';
import { DataKey, Security, API_PORT } from './constructs/security';
import { Database } from './constructs/database';
import { Cache } from './constructs/cache';
import { Queues } from './constructs/queues';
import { AppSecrets } from './constructs/secrets';
import { AppFleet } from './constructs/compute';
import { Image } from './constructs/image';
import { findBundle, packageVersion, type Bundle, type MissingBundle } from './constructs/bundle';
import { cpuScaling, queueBacklogScaling } from './constructs/scaling';
import { AccessLogBucket } from './constructs/access-logs';
import { LoadBalancer } from './constructs/load-balancer';
import type { ApiEnvFile, AppRole, AppSettings, SharedEnvFile, WorkerEnvFile } from './constructs/user-data';

import { DATABASE_ROLES } from '../common/database/roles';
import { PolicyAspect } from './policies/aspect';
import { imagePolicyRules } from './policies/image-rules';
import { applyPolicyRules } from './policies/apply-rules';
import { AppLogGroups } from './constructs/logs';
import { dataPolicyRules } from './policies/data-rules';
import { addEdgeAndOperations, type EdgeAndOperations } from './edge-and-operations';
import {
  albOrigin,
  backupCopyAccount,
  DEFAULT_MAILBOX_RETENTION_DAYS,
  edgeOriginName,
  isExistingImage,
  pushOf,
} from './config/environments';

/** The worker settings a stack writes for pushes. */
type PushSetting = 'PUSH_PROVIDER' | 'PUSH_WEBHOOK_URL' | 'PUSH_WEBHOOK_SECRET_ARN';

export interface CyphrStackProps {
  environment: EnvironmentConfig;
  tier: TierSpec;
  /** AMI for both fleets, overriding environment.image (no Image Builder resources then). @default from environment.image */
  imageId?: string;
  /** The bundle the image is baked from. @default dist/LATEST (or $CYPHR_BUNDLE); a placeholder with a synth warning when absent */
  bundle?: Bundle | MissingBundle;
}

export class CyphrStack extends TerraformStack {
  readonly network: Network;
  readonly security: Security;
  readonly database: Database;
  readonly cache: Cache;
  readonly queues: Queues;
  readonly secrets: AppSecrets;
  readonly loadBalancer: LoadBalancer;
  readonly api: AppFleet;
  readonly worker: AppFleet;
  /** Image Builder resources, when environment.image builds the AMI. */
  readonly image?: Image;
  readonly edgeAndOperations: EdgeAndOperations;

  constructor(scope: Construct, id: string, props: CyphrStackProps) {
    super(scope, id);
    const env = props.environment;
    const tier = props.tier;
    const namePrefix = `cyphr-${env.name}`;
    new AwsProvider(this, 'aws', {
      region: env.region,
      allowedAccountIds: [env.accountId],
      defaultTags: [{ tags: { Project: 'cyphr', Environment: env.name, ManagedBy: 'cdktf' } }],
    });

    // Key, network and security under everything.
    const key = new DataKey(this, 'data-key', {
      namePrefix,
      accountId: env.accountId,
      region: env.region,
      protectFromDeletion: env.deletionProtection,
      backupCopyAccountId: backupCopyAccount(env),
    }).key;
    const logs = { kmsKeyArn: key.arn, retentionDays: env.logRetentionDays };
    this.network = new Network(this, 'network', {
      namePrefix,
      cidr: env.vpcCidr,
      availabilityZones: env.availabilityZones,
      natGatewayPerAz: env.natGatewayPerAz,
      logs,
    });
    this.security = new Security(this, 'security', {
      namePrefix,
      vpcId: this.network.vpc.id,
      albOrigin: albOrigin(env),
    });
    const endpoints = new Endpoints(this, 'endpoints', {
      namePrefix,
      region: env.region,
      vpcId: this.network.vpc.id,
      routeTableIds: this.network.privateRouteTableIds,
      subnetIds: this.network.subnetIds('app'),
      securityGroupId: this.security.endpoints.securityGroupId,
    });

    // Data.
    this.database = new Database(this, 'database', {
      namePrefix,
      region: env.region,
      accountId: env.accountId,
      subnetIds: this.network.subnetIds('data'),
      availabilityZones: env.availabilityZones,
      securityGroupId: this.security.database.securityGroupId,
      key,
      instanceClass: tier.database.instanceClass,
      replicas: tier.database.replicas,
      allocatedStorageGb: tier.database.allocatedStorageGb,
      maxAllocatedStorageGb: tier.database.maxAllocatedStorageGb,
      multiAz: env.multiAzDatabase ?? env.production,
      deletionProtection: env.deletionProtection,
      backupRetentionDays: env.backupRetentionDays,
      secretRecoveryWindowDays: env.secretRecoveryWindowDays,
      logs,
    });
    this.cache = new Cache(this, 'cache', {
      namePrefix,
      region: env.region,
      accountId: env.accountId,
      subnetIds: this.network.subnetIds('data'),
      securityGroupId: this.security.cache.securityGroupId,
      key,
      nodeType: tier.cache.nodeType,
      shards: tier.cache.shards,
      replicasPerShard: tier.cache.replicasPerShard,
      snapshotRetentionDays: env.production ? 7 : 1,
      logs,
    });
    this.queues = new Queues(this, 'queues', { namePrefix, region: env.region, key });
    this.secrets = new AppSecrets(this, 'secrets', {
      namePrefix,
      region: env.region,
      key,
      recoveryWindowDays: env.secretRecoveryWindowDays,
      pushWebhook: pushOf(env).provider === 'webhook',
    });

    // Load balancer.
    const accessLogs = new AccessLogBucket(this, 'alb-access-logs', {
      bucketName: `${namePrefix}-alb-logs-${env.accountId}`,
      accountId: env.accountId,
      region: env.region,
      retentionDays: env.logRetentionDays,
      forceDestroy: !env.deletionProtection,
    });
    this.loadBalancer = new LoadBalancer(this, 'load-balancer', {
      namePrefix,
      vpcId: this.network.vpc.id,
      publicSubnetIds: this.network.subnetIds('public'),
      securityGroupId: this.security.alb.securityGroupId,
      accessLogs,
      // Viewers use env.domain on CloudFront; the ALB is CloudFront's origin at origin.<domain>.
      domain: env.domain && edgeOriginName(env.domain),
      deletionProtection: env.deletionProtection,
    });

    // Compute: the AMI (existing, or baked from the bundle by EC2 Image Builder), then the fleets.
    const appLogs = new AppLogGroups(this, 'app-logs', { environment: env.name, logs });
    const image = env.image;
    if (!props.imageId && !isExistingImage(image)) {
      this.image = new Image(this, 'image', {
        namePrefix,
        accountId: env.accountId,
        region: env.region,
        parentImageArn: image.parentImageArn,
        nodeMajor: image.nodeMajor,
        buildInstanceType: image.buildInstanceType,
        bundle: props.bundle ?? findBundle(),
        packageVersion: packageVersion(),
        rootVolumeGb: tier.rootVolumeGb,
        vpcId: this.network.vpc.id,
        subnetId: this.network.subnetIds('app')[0],
        endpoints: this.security.endpoints,
        networkPath: [...this.network.appSubnetEgress(0), ...endpoints.all],
        environment: env.name,
        kmsKeyArn: key.arn,
        logs,
        forceDestroy: !env.deletionProtection,
      });
    }
    const imageId = props.imageId ?? this.image?.amiId ?? (isExistingImage(image) ? image.amiId : '');
    const settings = this.settings(env);
    const fleet = (role: AppRole, settings: AppSettings, securityGroupId: string, targetGroupArn?: string) =>
      new AppFleet(this, role, {
        namePrefix,
        role,
        region: env.region,
        imageId,
        capacity: tier[role],
        subnetIds: this.network.subnetIds('app'),
        securityGroupId,
        settings,
        appLogs,
        targetGroupArn,
        rootVolumeGb: tier.rootVolumeGb,
      });
    this.api = fleet('api', settings.api, this.security.api.securityGroupId, this.loadBalancer.targetGroup.arn);
    this.worker = fleet('worker', settings.worker, this.security.worker.securityGroupId);
    this.grantAccess();
    cpuScaling(this, this.api.group, namePrefix);
    queueBacklogScaling(
      this,
      this.worker.group,
      namePrefix,
      this.queues.messages.queue.name,
      tier.worker.scaleOutBacklog,
    );

    this.outputs();
    Aspects.of(this).add(new PolicyAspect({ production: env.production }));
    Aspects.of(this).add(new PolicyAspect({ production: env.production, rules: imagePolicyRules(this) }));
    Aspects.of(this).add(new PolicyAspect({ production: env.production, rules: applyPolicyRules(this) }));
    Aspects.of(this).add(new PolicyAspect({ production: env.production, rules: dataPolicyRules(this, env.region) }));
    // Edge (CloudFront, WAF, Route 53/ACM, static assets) and operations (monitoring, backups, CI role, remote state).
    const { loadBalancer, api, worker, database, cache, queues } = this;
    this.edgeAndOperations = addEdgeAndOperations(this, {
      environment: env,
      tier,
      loadBalancer,
      api,
      worker,
      database,
      cache,
      queues,
    });
  }

  private addressBook?: AddressBook;

  /** Readable Terraform addresses from construct paths, unique or synth fails (infra/addresses.ts). */
  protected override allocateLogicalId(target: TerraformElement | Node): string {
    const element = elementOf(target);
    if (!element) return super.allocateLogicalId(target);
    this.addressBook ??= new AddressBook(this);
    return this.addressBook.allocate(element);
  }

  /** Who may use what, as intents. */
  private grantAccess(): void {
    const { api, worker, queues, secrets, database, cache } = this;
    queues.messages.grantSendMessages(api.role);
    secrets.jwtSigningKeys.grantRead(api.role);
    queues.messages.grantConsumeMessages(worker.role);
    queues.notifications.grantSendMessages(worker.role);
    queues.notifications.grantConsumeMessages(worker.role);
    // Malformed bodies, and messages failing on their last allowed receive, go straight to the DLQ with their
    // reason (worker/queue/dead-letter.ts); inspecting and replaying dead letters: receive from a DLQ, send back.
    for (const dlq of [queues.messagesDeadLetter, queues.deadLetter]) {
      dlq.grantSendMessages(worker.role);
      dlq.grantConsumeMessages(worker.role);
    }
    queues.messages.grantSendMessages(worker.role);
    // Databases and Redis: IAM authentication, each process as its own user.
    database.grantConnect(api.role, DATABASE_ROLES.api);
    database.grantConnect(worker.role, DATABASE_ROLES.worker);
    // The migration runs on worker instances as the schema owner; the master secret only lets it create
    // the roles on a new database (their IAM login fails until they exist).
    database.grantConnect(worker.role, DATABASE_ROLES.migrate, { primaryOnly: true });
    database.masterSecret.grantRead(worker.role);
    secrets.pushWebhookSigningKey?.grantRead(worker.role);
    cache.grantConnect(api.role, cache.iamUserId('api'));
    cache.grantConnect(worker.role, cache.iamUserId('worker'));
  }

  /**
   * Each role's env file, typed by the class its process validates with (constructs/user-data.ts);
   * infra/user-data.spec.ts runs those validators on every synthesized environment and tier.
   */
  private settings(env: EnvironmentConfig): { api: ApiEnvFile; worker: WorkerEnvFile } {
    const shared = {
      AWS_REGION: env.region,
      LOG_LEVEL: env.logLevel ?? 'info',
      DATABASE_HOST: this.database.primary.address,
      // Terraform's port, host:port and database name, not literals: what the instances use is what RDS reports.
      DATABASE_PORT: Token.asString(this.database.primary.port),
      DATABASE_REPLICA_HOSTS: this.database.replicaEndpoints.join(','),
      DATABASE_NAME: this.database.primary.dbName,
      DATABASE_SSL: 'true',
      // The RDS CA bundle the application ships (packaging writes it into the release).
      DATABASE_CA_FILE: '/opt/cyphr/current/certs/rds-ca.pem',
      DATABASE_AUTH: 'iam',
      REDIS_URL: this.cache.url,
      REDIS_AUTH: 'iam',
      REDIS_IAM_CACHE_NAME: this.cache.replicationGroupId,
      // Cluster mode (several shards): REDIS_URL is the configuration endpoint; the apps use a cluster client.
      ...(this.cache.clusterMode ? { REDIS_CLUSTER: 'true' } : {}),
      SQS_MESSAGES_QUEUE_URL: this.queues.messages.url,
      SQS_NOTIFICATIONS_QUEUE_URL: this.queues.notifications.url,
    } satisfies SharedEnvFile;
    return {
      api: {
        PORT: String(API_PORT),
        ...shared,
        DATABASE_USER: DATABASE_ROLES.api,
        REDIS_USER: this.cache.iamUserId('api'),
        JWT_SECRET_ARN: this.secrets.jwtSigningKeys.arn,
        // Viewers reach the API through CloudFront, then the ALB: two proxies whose X-Forwarded-For to trust.
        TRUST_PROXY: '2',
      },
      worker: {
        ...shared,
        DATABASE_USER: DATABASE_ROLES.worker,
        REDIS_USER: this.cache.iamUserId('worker'),
        DATABASE_MIGRATION_USER: DATABASE_ROLES.migrate,
        DATABASE_MASTER_SECRET_ARN: this.database.masterSecret.arn,
        WORKER_VISIBILITY_TIMEOUT_SECONDS: String(this.queues.messages.visibilityTimeoutSeconds),
        MAILBOX_RETENTION_DAYS: String(env.mailboxRetentionDays ?? DEFAULT_MAILBOX_RETENTION_DAYS),
        ...this.pushSettings(env),
      },
    };
  }

  /** The push provider and, for a webhook, its URL and the signing key's ARN (never the key). */
  private pushSettings(env: EnvironmentConfig): Pick<WorkerEnvFile, PushSetting> {
    const push = pushOf(env);
    const key = this.secrets.pushWebhookSigningKey;
    if (push.provider === 'log' || !key) return { PUSH_PROVIDER: 'log' };
    return { PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_URL: push.url, PUSH_WEBHOOK_SECRET_ARN: key.arn };
  }

  private outputs(): void {
    const out = (id: string, value: string | string[], description: string) =>
      new TerraformOutput(this, id, { value, description });
    out('alb_dns_name', this.loadBalancer.dnsName, 'ALB DNS name (CloudFront origin)');
    out('messages_queue_url', this.queues.messages.url, 'SQS messages queue');
    out('notifications_queue_url', this.queues.notifications.url, 'SQS notifications queue');
    out('messages_dead_letter_queue_url', this.queues.messagesDeadLetter.url, 'Dead-letter queue of messages (FIFO)');
    out('dead_letter_queue_url', this.queues.deadLetter.url, 'Dead-letter queue of notifications');
    out('db_primary_endpoint', this.database.primary.endpoint, 'PostgreSQL primary host:port');
    out(
      'db_replica_endpoints',
      this.database.replicas.map((r) => r.endpoint),
      'PostgreSQL read replicas host:port',
    );
    out('redis_endpoint', this.cache.endpoint, 'Redis primary (or configuration) endpoint');
    out(
      'db_master_secret_arn',
      this.database.masterSecret.arn,
      'PostgreSQL master credentials (written by Terraform, write-only; bootstrap and break-glass only)',
    );
    out(
      'jwt_secret_arn',
      this.secrets.jwtSigningKeys.arn,
      'JWT signing keyring (first key written by Terraform, write-only; rotate with npm run rotate-jwt-key)',
    );
    if (this.secrets.pushWebhookSigningKey)
      out(
        'push_webhook_secret_arn',
        this.secrets.pushWebhookSigningKey.arn,
        'Push webhook signing key (written by Terraform, write-only; give the push gateway a copy to verify with)',
      );
    out('api_asg_name', this.api.group.name, 'API auto scaling group');
    out('worker_asg_name', this.worker.group.name, 'Worker auto scaling group');
    out('ami_id', this.api.launchTemplate.imageId, 'AMI of both launch templates');
    if (this.image) {
      out('artifacts_bucket', this.image.artifacts.name, 'Bundles the image build downloads');
      out('bundle_version', this.image.bundleVersion, 'Bundle baked into the AMI');
    }
  }
}
