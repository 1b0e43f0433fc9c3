// AWS Backup (the plan's disaster recovery): a KMS-encrypted vault and a plan taking a snapshot every
// 6 hours, kept 30 days, of the resources given (the RDS primary). RDS automated backups (point in
// time restore, configured on the instance) run beside it. In production the vault is locked in
// compliance mode, and a copy may go to a vault in another region or account: whoever can change this
// vault (or this account) must not be able to destroy every copy of the data.
import { Construct } from 'constructs';
import { BackupVault } from '@cdktf/provider-aws/lib/backup-vault';
import { BackupVaultPolicy } from '@cdktf/provider-aws/lib/backup-vault-policy';
import { BackupPlan } from '@cdktf/provider-aws/lib/backup-plan';
import { BackupSelection } from '@cdktf/provider-aws/lib/backup-selection';
import { BackupVaultLockConfiguration } from '@cdktf/provider-aws/lib/backup-vault-lock-configuration';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { partitionOf, ServiceRole } from '../constructs/iam';
import { denyKeyDestruction } from '../constructs/security';
import { backupRoleName } from './permissions-boundary';

/**
 * Days after the lock is applied during which it can still be removed (DeleteBackupVaultLockConfiguration, by an
 * administrator: the deploy role is denied it). After that, compliance mode is irreversible: nobody, the account
 * root and AWS included, can delete a recovery point before its retention or the vault while it holds any.
 * 3 is the least AWS accepts; setting any value is what makes the lock compliance rather than governance mode.
 */
export const VAULT_LOCK_COOLING_OFF_DAYS = 3;

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
  /**
   * Vault Lock in compliance mode: recovery points live at least `retentionDays`, whatever anyone does, once
   * VAULT_LOCK_COOLING_OFF_DAYS have passed. Irreversible after that. @default false
   */
  vaultLock?: boolean;
  /** Copy every recovery point to this vault (another region or account), kept as long there. @default none */
  copyToVaultArn?: string;
  /** Deny disabling or deleting the vault key to every principal (lifting it takes a key policy change). @default true */
  protectKey?: boolean;
}

export class DatabaseBackup extends Construct {
  readonly vault: BackupVault;
  readonly plan: BackupPlan;
  readonly role: ServiceRole;
  readonly key: KmsKey;
  readonly lock?: BackupVaultLockConfiguration;

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
          ...((props.protectKey ?? true) ? [denyKeyDestruction()] : []),
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
      name: backupRoleName(props.namePrefix),
      servicePrincipal: 'backup.amazonaws.com',
      description: 'AWS Backup takes and restores Cyphr backups',
    });
    for (const policy of ['AWSBackupServiceRolePolicyForBackup', 'AWSBackupServiceRolePolicyForRestores']) {
      this.role.attachManagedPolicy(policy, `arn:${partition}:iam::aws:policy/service-role/${policy}`);
    }
    const retentionDays = props.retentionDays ?? 30;
    if (props.vaultLock) {
      this.lock = new BackupVaultLockConfiguration(this, 'vault-lock', {
        backupVaultName: this.vault.name,
        changeableForDays: VAULT_LOCK_COOLING_OFF_DAYS,
        minRetentionDays: retentionDays,
      });
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
          lifecycle: { deleteAfter: retentionDays },
          recoveryPointTags: { Project: 'cyphr', Backup: name },
          copyAction: props.copyToVaultArn
            ? [{ destinationVaultArn: props.copyToVaultArn, lifecycle: { deleteAfter: retentionDays } }]
            : undefined,
        },
      ],
      // A rule that names a locked vault must not run before the lock is in place.
      dependsOn: this.lock ? [this.lock] : undefined,
    });
    new BackupSelection(this, 'selection', {
      name: `${props.namePrefix}-database`,
      planId: this.plan.id,
      iamRoleArn: this.role.arn,
      resources: props.resourceArns,
    });
  }
}
