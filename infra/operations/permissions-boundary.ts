// The ceiling of every role the stack creates (set on each by an aspect). The deploy role may create
// and change roles only when they carry this boundary (ci-deploy-role.ts), so a role it makes can
// never do more than this document allows, whatever inline policy it is given: no IAM, no role
// chaining, parameters only under the stack's path, none of the destructive or exfiltrating actions
// the deploy role itself is denied.
import { Construct, type IConstruct } from 'constructs';
import { Aspects, TerraformStack, type IAspect } from 'cdktf';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { partitionOf } from '../constructs/iam';

/**
 * What the stack's runtime roles (instances, image builds, AWS Backup, RDS enhanced monitoring) use.
 * AWS managed policies attached to those roles (AmazonSSMManagedInstanceCore, AWS Backup's) stay inside it.
 */
export const BOUNDARY_SERVICES = [
  'autoscaling',
  'backup',
  'backup-storage',
  'cloudwatch',
  'ec2',
  'ec2messages',
  'elasticache',
  'imagebuilder',
  'kms',
  'logs',
  'rds',
  'rds-db',
  's3',
  'secretsmanager',
  'sns',
  'sqs',
  'ssm',
  'ssmmessages',
  'tag',
];

export interface PermissionsBoundaryProps {
  namePrefix: string;
  accountId: string;
  region: string;
  /**
   * Where AWS Backup copies recovery points (a vault in another region or account): the backup role works
   * there, and may share the snapshot it copies with that account. @default none
   */
  backupCopy?: { region: string };
}

/** AWS Backup's role (operations/backup.ts): the one stack role that may share a snapshot, for a configured copy. */
export const backupRoleName = (namePrefix: string) => `${namePrefix}-backup`;

/** `arn:<partition>:iam::<account>:policy/<prefix>-boundary`, known at synth so policies that name it stay literal. */
export function boundaryArn(props: PermissionsBoundaryProps): string {
  return `arn:${partitionOf(props.region)}:iam::${props.accountId}:policy/${props.namePrefix}-boundary`;
}

/** The boundary document (exported for tests and review). Whatever it does not allow, a bounded role cannot do. */
export function boundaryPolicy(props: PermissionsBoundaryProps): Record<string, unknown> {
  const partition = partitionOf(props.region);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'StackServicesInItsRegions',
        Effect: 'Allow',
        Action: BOUNDARY_SERVICES.map((service) => `${service}:*`),
        Resource: '*',
        Condition: {
          StringEquals: {
            'aws:RequestedRegion': [
              ...new Set([props.region, 'us-east-1', ...(props.backupCopy ? [props.backupCopy.region] : [])]),
            ],
          },
        },
      },
      // AWS Backup restores pass its own role to the restored resource; nothing else passes roles.
      {
        Sid: 'PassOnlyStackRoles',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: `arn:${partition}:iam::${props.accountId}:role/${props.namePrefix}-*`,
      },
      // Not allowed above, so already impossible; stated so a reader (and a future edit) sees it.
      {
        Sid: 'NoIdentityChangesNoRoleChaining',
        Effect: 'Deny',
        Action: ['iam:Create*', 'iam:Put*', 'iam:Attach*', 'iam:Update*', 'iam:Delete*', 'sts:AssumeRole*'],
        Resource: '*',
      },
      // The deploy role can create a bounded role with any trust policy (IAM offers no condition on a trust
      // document). Such a role, assumed from outside, still cannot read a secret: reads must come through the
      // VPC's Secrets Manager endpoint, where the instances read theirs.
      {
        Sid: 'SecretsOnlyThroughTheVpcEndpoint',
        Effect: 'Deny',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:BatchGetSecretValue'],
        Resource: '*',
        Condition: { Null: { 'aws:SourceVpce': 'true' } },
      },
      // AmazonSSMManagedInstanceCore reads any parameter; the stack's roles read only the stack's path
      // (and AWS's public parameters, e.g. AMI ids).
      {
        Sid: 'ReadOnlyStackParameters',
        Effect: 'Deny',
        Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath', 'ssm:GetParameterHistory'],
        NotResource: [
          `arn:${partition}:ssm:*:${props.accountId}:parameter/${props.namePrefix}/*`,
          `arn:${partition}:ssm:*::parameter/aws/service/*`,
        ],
      },
      ...sharedDenies(props).map((statement) =>
        statement.Sid === 'NoSnapshotOrImageSharing' && props.backupCopy
          ? {
              ...statement,
              Condition: {
                ArnNotLike: {
                  'aws:PrincipalArn': `arn:${partition}:iam::${props.accountId}:role/${backupRoleName(props.namePrefix)}`,
                },
              },
            }
          : statement,
      ),
    ],
  };
}

/**
 * Denies shared by the deploy role and the boundary: the escalation and destruction paths a stolen deploy
 * session (or a role it creates) must not reach. Explicit denies win over any allow.
 */
export function sharedDenies(props: PermissionsBoundaryProps): Record<string, unknown>[] {
  const partition = partitionOf(props.region);
  return [
    {
      Sid: 'NoCommandsOrSessionsOnInstances',
      Effect: 'Deny',
      Action: [
        'ssm:SendCommand',
        'ssm:StartSession',
        'ssm:ResumeSession',
        'ssm:StartAutomationExecution',
        'ssm:CreateAssociation',
        'ssm:CreateAssociationBatch',
        'ssm:UpdateAssociation',
        'ssm:StartAssociationsOnce',
        'ec2-instance-connect:SendSSHPublicKey',
        'ec2-instance-connect:SendSerialConsoleSSHPublicKey',
        'ec2:GetPasswordData',
      ],
      Resource: '*',
    },
    {
      Sid: 'NoKeyDeletionOrDisabling',
      Effect: 'Deny',
      Action: [
        'kms:ScheduleKeyDeletion',
        'kms:DisableKey',
        'kms:DisableKeyRotation',
        'kms:DeleteImportedKeyMaterial',
        'kms:UpdatePrimaryRegion',
      ],
      Resource: '*',
    },
    {
      Sid: 'NoKeyPolicyOrGrantChanges',
      Effect: 'Deny',
      Action: ['kms:PutKeyPolicy', 'kms:ReplicateKey'],
      Resource: '*',
    },
    {
      // Grants for AWS services acting for the caller (RDS, ElastiCache, EBS, Backup create them) stay possible.
      Sid: 'NoGrantsToPrincipals',
      Effect: 'Deny',
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'false' } },
    },
    {
      Sid: 'NoSnapshotOrImageSharing',
      Effect: 'Deny',
      Action: [
        'rds:ModifyDBSnapshotAttribute',
        'rds:ModifyDBClusterSnapshotAttribute',
        'rds:StartExportTask',
        'ec2:ModifySnapshotAttribute',
        'ec2:ModifyImageAttribute',
        'elasticache:CopySnapshot',
        'elasticache:ExportServerlessCacheSnapshot',
      ],
      Resource: '*',
    },
    {
      Sid: 'NoBackupDeletion',
      Effect: 'Deny',
      Action: [
        'backup:DeleteRecoveryPoint',
        'backup:UpdateRecoveryPointLifecycle',
        'backup:DeleteBackupVault',
        'backup:PutBackupVaultAccessPolicy',
        'backup:DeleteBackupVaultAccessPolicy',
        'backup:DeleteBackupVaultLockConfiguration',
        'backup:DisassociateRecoveryPoint',
      ],
      Resource: '*',
    },
    {
      Sid: 'NoSecretValueOrPolicyChanges',
      Effect: 'Deny',
      Action: [
        'secretsmanager:UpdateSecret',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:RestoreSecret',
        'secretsmanager:RotateSecret',
        'secretsmanager:CancelRotateSecret',
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:DeleteResourcePolicy',
        'secretsmanager:ReplicateSecretToRegions',
        'secretsmanager:StopReplicationToReplica',
      ],
      Resource: `arn:${partition}:secretsmanager:*:${props.accountId}:secret:*`,
    },
  ];
}

/** The managed policy every role the deploy role creates must carry. */
export class PermissionsBoundary extends Construct {
  readonly policy: IamPolicy;
  readonly arn: string;

  constructor(scope: Construct, id: string, props: PermissionsBoundaryProps) {
    super(scope, id);
    this.arn = boundaryArn(props);
    this.policy = new IamPolicy(this, 'policy', {
      name: `${props.namePrefix}-boundary`,
      description: `Ceiling of every ${props.namePrefix} role (the deploy role may only create roles carrying it)`,
      policy: JSON.stringify(boundaryPolicy(props)),
    });
  }

  /** Sets the boundary on every role of the stack except `exempt` (the deploy role, which an administrator's apply makes). */
  applyToStack(exempt: IamRole[] = []): void {
    this.exempt.push(...exempt);
    if (this.applied) return;
    this.applied = true;
    // The policy's own ARN attribute (equal to `arn`), so every role waits for the boundary to exist.
    Aspects.of(TerraformStack.of(this)).add(new BoundaryAspect(this.policy.arn, this.exempt));
  }

  private readonly exempt: IamRole[] = [];
  private applied = false;
}

class BoundaryAspect implements IAspect {
  constructor(
    private readonly arn: string,
    private readonly exempt: readonly IConstruct[],
  ) {}

  visit(node: IConstruct): void {
    if (node instanceof IamRole && !this.exempt.includes(node)) node.permissionsBoundary = this.arn;
  }
}
