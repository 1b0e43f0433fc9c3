// RDS PostgreSQL: one primary and the tier's read replicas, in the data subnets, never public.
// The api and worker log in with IAM database authentication (grantConnect); the master password is
// generated while Terraform runs and written, write-only, to the primary and to the master secret: it is
// in neither plan nor state, and RDS does not manage it, so read replicas can be created.
import { Construct } from 'constructs';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group';
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { MASTER_USERNAME } from '../../common/database/roles';
import { partitionOf, ServiceRole } from './iam';
import { encryptedLogGroup, type LogGroupSettings } from './logs';
import { ephemeralRandomPassword, Secret } from './secrets';

export interface DatabaseProps {
  namePrefix: string;
  region: string;
  /** The account, for rds-db:connect ARNs (no data source asks AWS). */
  accountId: string;
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
  /** @default MASTER_USERNAME (cyphr_admin) */
  masterUsername?: string;
  /** Enhanced monitoring interval. @default 60 */
  monitoringIntervalSeconds?: number;
  /** Recovery window of the master secret; 0 deletes it at once. @default 30 */
  secretRecoveryWindowDays?: number;
}

/**
 * The master password's write-only version, on the instance and its secret alike: bumping it (both at once, in one
 * apply) is how the password is replaced; the two must never differ.
 */
const MASTER_PASSWORD_VERSION = 1;

const LOG_EXPORTS = ['postgresql', 'upgrade'];
export const DATABASE_PORT = 5432;
/** Characters RDS refuses in a master password: `/`, `"`, `@` and space. */
const RDS_PASSWORD_EXCLUDED = '/"@ ';

export class Database extends Construct {
  readonly primary: DbInstance;
  readonly replicas: DbInstance[];
  /** Master credentials `{"username","password"}`: for bootstrapping the roles and break-glass only. */
  readonly masterSecret: Secret;
  readonly port = DATABASE_PORT;
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
      port: DATABASE_PORT,
      storageType: 'gp3',
      storageEncrypted: true,
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
    const username = props.masterUsername ?? MASTER_USERNAME;
    const password = ephemeralRandomPassword(this, 'master-password', {
      length: 40,
      excludeCharacters: RDS_PASSWORD_EXCLUDED,
    });
    this.primary = new DbInstance(this, 'primary', {
      ...common,
      identifier: primaryId,
      engine: 'postgres',
      engineVersion: props.engineVersion ?? '16',
      dbName: props.databaseName ?? 'cyphr',
      kmsKeyId: props.key.arn,
      username,
      // Write-only: sent on create (and when the version changes), never stored.
      passwordWo: `\${${password}}`,
      passwordWoVersion: MASTER_PASSWORD_VERSION,
      dbSubnetGroupName: subnetGroup.name,
      multiAz: props.multiAz ?? true,
      allocatedStorage: props.allocatedStorageGb,
      maxAllocatedStorage: props.maxAllocatedStorageGb,
      backupRetentionPeriod: props.backupRetentionDays ?? 7,
      backupWindow: '02:00-03:00',
      maintenanceWindow: 'sun:03:30-sun:04:30',
      skipFinalSnapshot: !(props.deletionProtection ?? true),
      finalSnapshotIdentifier: `${primaryId}-final`,
      dependsOn: this.logGroups('primary', primaryId),
    });
    this.replicas = Array.from({ length: props.replicas ?? 0 }, (_, i) => {
      const replicaId = `${name}-db-replica-${i + 1}`;
      return new DbInstance(this, `replica-${i + 1}`, {
        ...common,
        identifier: replicaId,
        // Encryption and its key are inherited from the primary: AWS says not to specify kms_key_id
        // for a replica in the same region.
        replicateSourceDb: this.primary.identifier,
        availabilityZone: props.availabilityZones[(i + 1) % props.availabilityZones.length],
        maxAllocatedStorage: props.maxAllocatedStorageGb,
        skipFinalSnapshot: true,
        dependsOn: this.logGroups(`replica-${i + 1}`, replicaId),
      });
    });
    this.masterSecret = new Secret(this, 'db-master', {
      name: `${name}/db-master`,
      description:
        'Cyphr PostgreSQL master credentials (written by Terraform write-only; bootstrap and break-glass only)',
      key: props.key,
      region: props.region,
      recoveryWindowDays: props.secretRecoveryWindowDays,
    });
    // The same ephemeral value as the primary's password_wo: both are written in the same apply, the secret only
    // once the instance exists. Were it written first and the instance failed, the next apply's new password would
    // create the instance while the secret (version already 1) kept the old one.
    this.masterSecret.initialValueWriteOnly(`jsonencode({ username = "${username}", password = ${password} })`, {
      version: MASTER_PASSWORD_VERSION,
      dependsOn: [this.primary],
    });
  }

  get replicaAddresses(): string[] {
    return this.replicas.map((r) => r.address);
  }

  /** `address:port` of each replica (RDS's `endpoint` attribute): what the processes dial and sign tokens for. */
  get replicaEndpoints(): string[] {
    return this.replicas.map((r) => r.endpoint);
  }

  /**
   * IAM database authentication as `dbUser` (rds-db:connect), on the primary and every replica, or on the primary
   * only for a user that never reads from a replica (the migration's owner role).
   */
  grantConnect(role: ServiceRole, dbUser: string, options: { primaryOnly?: boolean } = {}): void {
    const { region, accountId } = this.props;
    const partition = partitionOf(region);
    const sid = `ConnectDatabaseAs${dbUser.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase())}`;
    const instances = options.primaryOnly ? [this.primary] : [this.primary, ...this.replicas];
    role.addToPolicy({
      sid,
      actions: ['rds-db:connect'],
      resources: instances.map(
        (instance) => `arn:${partition}:rds-db:${region}:${accountId}:dbuser:${instance.resourceId}/${dbUser}`,
      ),
    });
  }

  /**
   * Created ahead of RDS so exported logs are encrypted and expire. Named in Terraform by the instance's part
   * (`database_primary_postgresql_logs`), not its identifier, so addresses read the same in every environment.
   */
  private logGroups(part: string, instanceId: string) {
    return LOG_EXPORTS.map((log) =>
      encryptedLogGroup(this, `${part}-${log}-logs`, `/aws/rds/instance/${instanceId}/${log}`, this.props.logs),
    );
  }
}
