// ElastiCache Redis replication group in the data subnets: TLS required, encrypted at rest,
// failover and Multi-AZ when the tier has replicas, cluster mode when it has several shards.
import { Construct } from 'constructs';
import { Token } from 'cdktf';
import { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group';
import { ElasticacheSubnetGroup } from '@cdktf/provider-aws/lib/elasticache-subnet-group';
import { ElasticacheParameterGroup } from '@cdktf/provider-aws/lib/elasticache-parameter-group';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { encryptedLogGroup, type LogGroupSettings } from './logs';
import { REDIS_PORT } from './security';

export interface CacheProps {
  namePrefix: string;
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

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const name = `${props.namePrefix}-redis`;
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
      snapshotRetentionLimit: props.snapshotRetentionDays ?? 7,
      snapshotWindow: '01:00-02:00',
      maintenanceWindow: 'sun:04:30-sun:05:30',
      autoMinorVersionUpgrade: 'true',
      applyImmediately: false,
      logDeliveryConfiguration: [
        { destination: slowLog.name, destinationType: 'cloudwatch-logs', logFormat: 'json', logType: 'slow-log' },
      ],
      // The AUTH token is set after apply from the redis-auth-token secret (infra/README.md); Terraform never holds it.
      lifecycle: { ignoreChanges: ['auth_token', 'auth_token_update_strategy'] },
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
}
