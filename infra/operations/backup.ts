// AWS Backup (the plan's disaster recovery): a KMS-encrypted vault and a plan taking a snapshot every
// 6 hours, kept 30 days, of the resources given (the RDS primary). RDS automated backups (point in
// time restore, configured on the instance) run beside it.
import { Construct } from 'constructs';
import { BackupVault } from '@cdktf/provider-aws/lib/backup-vault';
import { BackupVaultPolicy } from '@cdktf/provider-aws/lib/backup-vault-policy';
import { BackupPlan } from '@cdktf/provider-aws/lib/backup-plan';
import { BackupSelection } from '@cdktf/provider-aws/lib/backup-selection';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { partitionOf, ServiceRole } from '../constructs/iam';

/** Every 6 hours, on the hour (UTC). */
export const EVERY_6_HOURS = 'cron(0 */6 * * ? *)';

export interface DatabaseBackupProps {
  namePrefix: string;
  accountId: string;
  region: string;
  /** ARNs of what to back up (the RDS primary; replicas hold the same data). */
  resourceArns: string[];
  /** @default EVERY_6_HOURS (the plan) */
  schedule?: string;
  /** Days a recovery point is kept. @default 30 (the plan) */
  retentionDays?: number;
  /** Deny deleting recovery points and the vault to every principal (retention still expires them). @default true */
  protectRecoveryPoints?: boolean;
  /** Let `terraform destroy` delete the vault with its recovery points. @default false */
  forceDestroy?: boolean;
}

export class DatabaseBackup extends Construct {
  readonly vault: BackupVault;
  readonly plan: BackupPlan;
  readonly role: ServiceRole;
  readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: DatabaseBackupProps) {
    super(scope, id);
    if (!props.resourceArns.length) throw new Error(`${this.node.path}: nothing to back up`);
    const name = `${props.namePrefix}-backups`;
    const partition = partitionOf(props.region);
    // A key of its own: losing or misusing the data key must not also reach the backups.
    this.key = new KmsKey(this, 'key', {
      description: `${props.namePrefix} backup vault`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAdministersThroughIam',
            Effect: 'Allow',
            Principal: { AWS: `arn:${partition}:iam::${props.accountId}:root` },
            Action: 'kms:*',
            Resource: '*',
          },
        ],
      }),
    });
    new KmsAlias(this, 'key-alias', { name: `alias/${name}`, targetKeyId: this.key.keyId });
    this.vault = new BackupVault(this, 'vault', {
      name,
      kmsKeyArn: this.key.arn,
      forceDestroy: props.forceDestroy ?? false,
    });
    if (props.protectRecoveryPoints ?? true) {
      new BackupVaultPolicy(this, 'vault-policy', {
        backupVaultName: this.vault.name,
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'NobodyDeletesRecoveryPoints',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: ['backup:DeleteRecoveryPoint', 'backup:UpdateRecoveryPointLifecycle', 'backup:DeleteBackupVault'],
              Resource: '*',
            },
          ],
        }),
      });
    }
    this.role = new ServiceRole(this, 'role', {
      name: `${props.namePrefix}-backup`,
      servicePrincipal: 'backup.amazonaws.com',
      description: 'AWS Backup takes and restores Cyphr backups',
    });
    for (const policy of ['AWSBackupServiceRolePolicyForBackup', 'AWSBackupServiceRolePolicyForRestores']) {
      this.role.attachManagedPolicy(policy, `arn:${partition}:iam::aws:policy/service-role/${policy}`);
    }
    this.plan = new BackupPlan(this, 'plan', {
      name,
      rule: [
        {
          ruleName: 'every-6-hours',
          targetVaultName: this.vault.name,
          schedule: props.schedule ?? EVERY_6_HOURS,
          startWindow: 60,
          completionWindow: 300,
          lifecycle: { deleteAfter: props.retentionDays ?? 30 },
          recoveryPointTags: { Project: 'cyphr', Backup: name },
        },
      ],
    });
    new BackupSelection(this, 'selection', {
      name: `${props.namePrefix}-database`,
      planId: this.plan.id,
      iamRoleArn: this.role.arn,
      resources: props.resourceArns,
    });
  }
}
