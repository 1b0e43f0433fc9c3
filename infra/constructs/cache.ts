// ElastiCache Redis replication group in the data subnets: TLS required, encrypted at rest,
// failover and Multi-AZ when the tier has replicas, cluster mode when it has several shards.
// Clients log in as their own ElastiCache user with IAM authentication (signed, short-lived tokens):
// there is no AUTH token to store, and the default user is disabled.
import { Construct } from 'constructs';
import { Token } from 'cdktf';
import { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group';
import { ElasticacheUser } from '@cdktf/provider-aws/lib/elasticache-user';
import { ElasticacheUserGroup } from '@cdktf/provider-aws/lib/elasticache-user-group';
import { ElasticacheSubnetGroup } from '@cdktf/provider-aws/lib/elasticache-subnet-group';
import { ElasticacheParameterGroup } from '@cdktf/provider-aws/lib/elasticache-parameter-group';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { partitionOf, ServiceRole } from './iam';
import { encryptedLogGroup, type LogGroupSettings } from './logs';
import { REDIS_PORT } from './security';

export type CacheRole = 'api' | 'worker';
const ROLES: CacheRole[] = ['api', 'worker'];

/**
 * What the api and worker run: keys (sessions, caches, presence), pub/sub and sharded pub/sub on any
 * channel; no command of the dangerous category (FLUSHALL, KEYS, CONFIG, DEBUG, MONITOR, ...).
 */
export const APP_ACCESS_STRING = 'on ~* &* +@all -@dangerous';
/** ElastiCache requires a user named `default` in every group: this one cannot log in nor run anything. */
export const DISABLED_DEFAULT_ACCESS_STRING = 'off -@all';

export interface CacheProps {
  namePrefix: string;
  region: string;
  /** The account, for the elasticache:Connect resource ARNs (no data source asks AWS). */
  accountId: string;
  subnetIds: string[];
  securityGroupId: string;
  key: KmsKey;
  nodeType: string;
  /** More than one turns on cluster mode. @default 1 */
  shards?: number;
  /** @default 0 */
  replicasPerShard?: number;
  /** Daily snapshots kept. @default 7 */
  snapshotRetentionDays?: number;
  logs: LogGroupSettings;
  /** @default 7.1 */
  engineVersion?: string;
}

export class Cache extends Construct {
  readonly replicationGroup: ElasticacheReplicationGroup;
  readonly clusterMode: boolean;
  /** Known at synth: `cyphr-<env>-redis` (IAM tokens are signed for it). */
  readonly replicationGroupId: string;
  readonly users: Record<CacheRole, ElasticacheUser>;
  readonly userGroup: ElasticacheUserGroup;
  private readonly props: CacheProps;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    this.props = props;
    const name = `${props.namePrefix}-redis`;
    this.replicationGroupId = name;
    const shards = props.shards ?? 1;
    const replicas = props.replicasPerShard ?? 0;
    this.clusterMode = shards > 1;
    const highlyAvailable = replicas > 0;
    const subnets = new ElasticacheSubnetGroup(this, 'subnets', {
      name,
      subnetIds: props.subnetIds,
      description: 'Cyphr data subnets',
    });
    const parameters = new ElasticacheParameterGroup(this, 'parameters', {
      name: `${name}7${this.clusterMode ? '-cluster' : ''}`,
      family: 'redis7',
      description: 'Cyphr Redis',
      parameter: [{ name: 'cluster-enabled', value: this.clusterMode ? 'yes' : 'no' }],
    });
    // IAM authentication needs user id == user name.
    const user = (key: string, userId: string, accessString: string, type: 'iam' | 'no-password-required') =>
      new ElasticacheUser(this, key, {
        userId,
        userName: key === 'default-user' ? 'default' : userId,
        engine: 'redis',
        accessString,
        authenticationMode: { type },
      });
    this.users = {
      api: user('api-user', this.iamUserId('api'), APP_ACCESS_STRING, 'iam'),
      worker: user('worker-user', this.iamUserId('worker'), APP_ACCESS_STRING, 'iam'),
    };
    const disabledDefault = user(
      'default-user',
      `${props.namePrefix}-default`,
      DISABLED_DEFAULT_ACCESS_STRING,
      'no-password-required',
    );
    this.userGroup = new ElasticacheUserGroup(this, 'users', {
      userGroupId: `${props.namePrefix}-redis-users`,
      engine: 'redis',
      userIds: [disabledDefault.userId, ...ROLES.map((role) => this.users[role].userId)],
    });
    const slowLog = encryptedLogGroup(this, 'slow-log', `/cyphr/${props.namePrefix}/redis-slow-log`, props.logs);
    const shape = this.clusterMode
      ? { clusterMode: 'enabled', numNodeGroups: shards, replicasPerNodeGroup: replicas }
      : { clusterMode: 'disabled', numCacheClusters: 1 + replicas };
    this.replicationGroup = new ElasticacheReplicationGroup(this, 'redis', {
      replicationGroupId: name,
      description: 'Cyphr cache, sessions and pub/sub',
      engine: 'redis',
      engineVersion: props.engineVersion ?? '7.1',
      nodeType: props.nodeType,
      port: REDIS_PORT,
      ...shape,
      automaticFailoverEnabled: this.clusterMode || highlyAvailable,
      multiAzEnabled: highlyAvailable,
      subnetGroupName: subnets.name,
      securityGroupIds: [props.securityGroupId],
      parameterGroupName: parameters.name,
      atRestEncryptionEnabled: 'true',
      kmsKeyId: props.key.arn,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      userGroupIds: [this.userGroup.userGroupId],
      snapshotRetentionLimit: props.snapshotRetentionDays ?? 7,
      snapshotWindow: '01:00-02:00',
      maintenanceWindow: 'sun:04:30-sun:05:30',
      autoMinorVersionUpgrade: 'true',
      applyImmediately: false,
      logDeliveryConfiguration: [
        { destination: slowLog.name, destinationType: 'cloudwatch-logs', logFormat: 'json', logType: 'slow-log' },
      ],
    });
  }

  /** Address clients connect to: the configuration endpoint in cluster mode, else the primary. */
  get endpoint(): string {
    return this.clusterMode
      ? this.replicationGroup.configurationEndpointAddress
      : this.replicationGroup.primaryEndpointAddress;
  }

  get url(): string {
    // The port as Terraform reports it, not the literal: a stand-in listening elsewhere can then be swapped in.
    return `rediss://${this.endpoint}:${Token.asString(this.replicationGroup.port)}`;
  }

  /** The ElastiCache user `role` logs in as (user id == user name). */
  iamUserId(role: CacheRole): string {
    return `${this.props.namePrefix}-${role}`;
  }

  /** IAM authentication as `userId`: elasticache:Connect on the replication group and on the user. */
  grantConnect(role: ServiceRole, userId: string): void {
    const { region, accountId } = this.props;
    const arn = (kind: string, id: string) =>
      `arn:${partitionOf(region)}:elasticache:${region}:${accountId}:${kind}:${id}`;
    role.addToPolicy({
      sid: 'ConnectCache',
      actions: ['elasticache:Connect'],
      resources: [arn('replicationgroup', this.replicationGroupId), arn('user', userId)],
    });
  }
}
