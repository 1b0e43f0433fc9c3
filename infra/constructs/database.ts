// RDS PostgreSQL: one primary and the tier's read replicas, in the data subnets, never public.
import { Construct } from 'constructs';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group';
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { partitionOf, ServiceRole } from './iam';
import { encryptedLogGroup, type LogGroupSettings } from './logs';
import { grantSecretRead } from './secrets';

export interface DatabaseProps {
  namePrefix: string;
  region: string;
  subnetIds: string[];
  availabilityZones: string[];
  securityGroupId: string;
  key: KmsKey;
  instanceClass: string;
  /** Read replicas (same class as the primary). @default 0 */
  replicas?: number;
  allocatedStorageGb: number;
  /** Storage autoscaling ceiling. */
  maxAllocatedStorageGb: number;
  /** Standby in another AZ. @default true */
  multiAz?: boolean;
  /** @default true */
  deletionProtection?: boolean;
  /** Automated backups, 1-35 days. @default 7 */
  backupRetentionDays?: number;
  /** Exported PostgreSQL logs. */
  logs: LogGroupSettings;
  /** @default 16 (latest minor chosen by RDS, minor upgrades automatic) */
  engineVersion?: string;
  /** @default cyphr */
  databaseName?: string;
  /** @default cyphr_admin */
  masterUsername?: string;
  /** Enhanced monitoring interval. @default 60 */
  monitoringIntervalSeconds?: number;
}

const LOG_EXPORTS = ['postgresql', 'upgrade'];

export class Database extends Construct {
  readonly primary: DbInstance;
  readonly replicas: DbInstance[];
  private readonly props: DatabaseProps;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    this.props = props;
    const name = props.namePrefix;
    const subnetGroup = new DbSubnetGroup(this, 'subnets', {
      name: `${name}-db`,
      subnetIds: props.subnetIds,
      description: 'Cyphr data subnets',
    });
    const parameters = new DbParameterGroup(this, 'parameters', {
      name: `${name}-postgres16`,
      family: 'postgres16',
      description: 'Cyphr PostgreSQL: TLS only, slow statements logged',
      parameter: [
        { name: 'rds.force_ssl', value: '1' },
        { name: 'log_min_duration_statement', value: '1000' },
        { name: 'idle_in_transaction_session_timeout', value: '60000' },
      ],
    });
    const monitoring = new ServiceRole(this, 'monitoring-role', {
      name: `${name}-rds-monitoring`,
      servicePrincipal: 'monitoring.rds.amazonaws.com',
      description: 'RDS enhanced monitoring',
    });
    monitoring.attachManagedPolicy(
      'enhanced-monitoring',
      `arn:${partitionOf(props.region)}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`,
    );

    const common = {
      instanceClass: props.instanceClass,
      storageType: 'gp3',
      storageEncrypted: true,
      kmsKeyId: props.key.arn,
      publiclyAccessible: false,
      vpcSecurityGroupIds: [props.securityGroupId],
      parameterGroupName: parameters.name,
      iamDatabaseAuthenticationEnabled: true,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: props.key.arn,
      performanceInsightsRetentionPeriod: 7,
      monitoringInterval: props.monitoringIntervalSeconds ?? 60,
      monitoringRoleArn: monitoring.arn,
      enabledCloudwatchLogsExports: LOG_EXPORTS,
      autoMinorVersionUpgrade: true,
      copyTagsToSnapshot: true,
      caCertIdentifier: 'rds-ca-rsa2048-g1',
      deletionProtection: props.deletionProtection ?? true,
    };
    const primaryId = `${name}-db`;
    this.primary = new DbInstance(this, 'primary', {
      ...common,
      identifier: primaryId,
      engine: 'postgres',
      engineVersion: props.engineVersion ?? '16',
      dbName: props.databaseName ?? 'cyphr',
      username: props.masterUsername ?? 'cyphr_admin',
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: props.key.arn,
      dbSubnetGroupName: subnetGroup.name,
      multiAz: props.multiAz ?? true,
      allocatedStorage: props.allocatedStorageGb,
      maxAllocatedStorage: props.maxAllocatedStorageGb,
      backupRetentionPeriod: props.backupRetentionDays ?? 7,
      backupWindow: '02:00-03:00',
      maintenanceWindow: 'sun:03:30-sun:04:30',
      skipFinalSnapshot: !(props.deletionProtection ?? true),
      finalSnapshotIdentifier: `${primaryId}-final`,
      dependsOn: this.logGroups(primaryId),
    });
    this.replicas = Array.from({ length: props.replicas ?? 0 }, (_, i) => {
      const replicaId = `${name}-db-replica-${i + 1}`;
      return new DbInstance(this, `replica-${i + 1}`, {
        ...common,
        identifier: replicaId,
        replicateSourceDb: this.primary.identifier,
        availabilityZone: props.availabilityZones[(i + 1) % props.availabilityZones.length],
        maxAllocatedStorage: props.maxAllocatedStorageGb,
        skipFinalSnapshot: true,
        dependsOn: this.logGroups(replicaId),
      });
    });
  }

  /** RDS-managed master credentials (username and password JSON). */
  get masterSecretArn(): string {
    return this.primary.masterUserSecret.get(0).secretArn;
  }

  get replicaAddresses(): string[] {
    return this.replicas.map((r) => r.address);
  }

  /** `address:port` of each replica (RDS's `endpoint` attribute): what the processes dial and sign tokens for. */
  get replicaEndpoints(): string[] {
    return this.replicas.map((r) => r.endpoint);
  }

  grantReadMasterSecret(role: ServiceRole): void {
    grantSecretRead(role, 'DatabaseMaster', this.masterSecretArn, this.props.key.arn, this.props.region);
  }

  /** Created ahead of RDS so exported logs are encrypted and expire. */
  private logGroups(instanceId: string) {
    return LOG_EXPORTS.map((log) =>
      encryptedLogGroup(this, `${instanceId}-${log}-logs`, `/aws/rds/instance/${instanceId}/${log}`, this.props.logs),
    );
  }
}
