// The role GitHub Actions assumes (OIDC, no stored keys) to apply one environment's stack.
// Trust: only the apply job of the deploy workflow on main, in one GitHub environment (whose reviewers
// gate production): the OIDC `sub` claim carries repository, environment, ref and job_workflow_ref
// (the repository's sub claim template, README: Security). Permissions: the services this stack uses,
// in its regions, by name where AWS names resources after the stack; roles only with the stack's
// permissions boundary; the Terraform state objects of this environment. Explicit denies close the
// escalation and destruction paths: commands on instances, secret values and policies, key policies,
// grants and deletion, snapshot sharing, backup deletion, its own permissions; secret values except the two
// Terraform writes itself. An administrator's apply
// creates this role and the boundary, and makes the changes the denies exclude (README: Security).
import { Construct } from 'constructs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { partitionOf } from '../constructs/iam';
import { boundaryArn, PermissionsBoundary, sharedDenies } from './permissions-boundary';

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';

/** The GitHub OIDC provider's ARN: one per account, named after the host (so another stack can reference it offline). */
export function githubOidcProviderArn(accountId: string, region: string): string {
  return `arn:${partitionOf(region)}:iam::${accountId}:oidc-provider/${GITHUB_OIDC_HOST}`;
}

/**
 * An apply that bakes an AMI waits up to the image's create timeout (infra/constructs/image.ts) for the image alone; everything after it
 * (launch templates, groups waiting for their first healthy instances) and what runs beside it (the database,
 * the cache, CloudFront) takes this much more at most.
 */
export const APPLY_MARGIN_MINUTES = 60;

/**
 * The deploy role's session, and the `role-duration-seconds` the apply workflow asks for
 * (.github/workflows/apply.yml): credentials must not expire in the middle of an apply.
 */
export const DEPLOY_SESSION_SECONDS = 3 * 3600;

/**
 * Services the stack manages in its regions (the stack's region and us-east-1 for the edge), on any resource:
 * AWS names their resources by id (instances, groups, keys, plans) or a create call authorizes on several
 * resources at once (RDS, ElastiCache). The denies below bound them. Secrets, queues and parameters carry the
 * stack's name and are scoped to it (deployPolicy).
 */
export const DEPLOY_SERVICES = [
  'acm',
  'autoscaling',
  'backup',
  'backup-storage',
  'cloudwatch',
  'ec2',
  'elasticache',
  'elasticloadbalancing',
  'imagebuilder',
  'kms',
  'logs',
  'rds',
  'sns',
  'wafv2',
];

/**
 * Secrets whose value Terraform writes at apply (`secret_string_wo` through PutSecretValue) and refreshes (provider
 * 5.x: GetSecretValue): the only secret values the deploy role may write or read.
 */
export const TERRAFORM_WRITTEN_SECRETS = ['db-master', 'jwt-signing-keys'];

/** Services the stack's roles are handed to (iam:PassedToService); a role passed anywhere else is refused. */
export const PASSED_TO_SERVICES = [
  'ec2.amazonaws.com',
  'imagebuilder.amazonaws.com',
  'backup.amazonaws.com',
  'monitoring.rds.amazonaws.com',
  'vpc-flow-logs.amazonaws.com',
];

/** The only workflow whose jobs may assume the role, and the branch it must run from. */
export const DEPLOY_WORKFLOW = { path: '.github/workflows/apply.yml', ref: 'refs/heads/main' } as const;

/**
 * Claims GitHub puts in the OIDC `sub` (the repository's sub claim template, set once by an administrator:
 * README, Security). AWS evaluates only `sub` and `aud` of GitHub's token, so the ref and the workflow are pinned
 * through it.
 */
export const OIDC_SUB_CLAIM_KEYS = ['repo', 'context', 'ref', 'job_workflow_ref'] as const;

/** The `sub` of the apply job of `DEPLOY_WORKFLOW` on its branch, in one GitHub environment. */
export function deploySubject(repository: string, environment: string): string {
  const { path, ref } = DEPLOY_WORKFLOW;
  return `repo:${repository}:environment:${environment}:ref:${ref}:job_workflow_ref:${repository}/${path}@${ref}`;
}

/** AWS managed policies the stack attaches to its roles; nothing else may be attached. */
export const ATTACHABLE_MANAGED_POLICIES = [
  'AmazonSSMManagedInstanceCore',
  'service-role/AmazonRDSEnhancedMonitoringRole',
  'service-role/AWSBackupServiceRolePolicyForBackup',
  'service-role/AWSBackupServiceRolePolicyForRestores',
];

/** Services whose service-linked roles a first apply may create. */
const SERVICE_LINKED = [
  'autoscaling.amazonaws.com',
  'elasticloadbalancing.amazonaws.com',
  'rds.amazonaws.com',
  'elasticache.amazonaws.com',
  'backup.amazonaws.com',
  'wafv2.amazonaws.com',
  // EC2 Image Builder's service-linked role, made on the first image build in an account (infra/constructs/image.ts).
  'imagebuilder.amazonaws.com',
];

export interface CiDeployRoleProps {
  namePrefix: string;
  accountId: string;
  region: string;
  /** owner/name of the GitHub repository. */
  githubRepository: string;
  /** GitHub environment the deploy job runs in (its protection rules gate the apply). */
  githubEnvironment: string;
  /**
   * The account's GitHub OIDC provider when another stack owns it (one per account): referenced, not created, and
   * this role may not change it. @default created here
   */
  existingOidcProviderArn?: string;
  /** Remote state of this environment, which the role reads and writes. */
  stateBackend?: { bucket: string; key: string };
  /** The zone whose records the stack manages. */
  hostedZoneId?: string;
  /** Seconds a session lasts; must cover an apply that bakes an AMI. @default DEPLOY_SESSION_SECONDS */
  maxSessionSeconds?: number;
  /** The stack's permissions boundary, which every role this one creates must carry. @default made here */
  boundary?: PermissionsBoundary;
}

export class CiDeployRole extends Construct {
  readonly role: IamRole;
  readonly oidcProviderArn: string;
  readonly boundary: PermissionsBoundary;

  constructor(scope: Construct, id: string, props: CiDeployRoleProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(props.githubRepository)) {
      throw new Error(`${this.node.path}: githubRepository must be owner/name, got "${props.githubRepository}"`);
    }
    this.oidcProviderArn =
      props.existingOidcProviderArn ??
      new IamOpenidConnectProvider(this, 'github-oidc', {
        url: `https://${GITHUB_OIDC_HOST}`,
        clientIdList: ['sts.amazonaws.com'],
        // AWS verifies GitHub's certificate through its trusted CA library; the list is required by older APIs only.
        thumbprintList: ['6938fd4d98bab03faadb97b34396831e3780aea1', '1c58a3a8518e8759bf075b76b750d4f2df264fcd'],
      }).arn;
    const name = `${props.namePrefix}-ci-deploy`;
    this.role = new IamRole(this, 'role', {
      name,
      description: `GitHub Actions (${props.githubRepository}, environment ${props.githubEnvironment}) applies ${props.namePrefix}`,
      maxSessionDuration: props.maxSessionSeconds ?? DEPLOY_SESSION_SECONDS,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DeployWorkflowOnMain',
            Effect: 'Allow',
            Principal: { Federated: this.oidcProviderArn },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: {
                [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com',
                [`${GITHUB_OIDC_HOST}:sub`]: deploySubject(props.githubRepository, props.githubEnvironment),
              },
            },
          },
        ],
      }),
    });
    new IamRolePolicy(this, 'policy', {
      name: 'deploy-stack',
      role: this.role.id,
      policy: JSON.stringify(deployPolicy(props, name)),
    });
    this.boundary = props.boundary ?? new PermissionsBoundary(this, 'boundary', props);
    this.boundary.applyToStack([this.role]);
  }

  get arn(): string {
    return this.role.arn;
  }
}

/** The deploy policy document (exported for tests and review). */
export function deployPolicy(props: CiDeployRoleProps, roleName: string): Record<string, unknown> {
  const partition = partitionOf(props.region);
  const iam = (resource: string) => `arn:${partition}:iam::${props.accountId}:${resource}`;
  const arn = (service: string, resource: string) =>
    `arn:${partition}:${service}:${props.region}:${props.accountId}:${resource}`;
  const boundary = boundaryArn(props);
  const terraformWritten = TERRAFORM_WRITTEN_SECRETS.map((n) =>
    arn('secretsmanager', `secret:${props.namePrefix}/${n}-*`),
  );
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'ManageStackServicesInItsRegions',
      Effect: 'Allow',
      Action: DEPLOY_SERVICES.map((service) => `${service}:*`),
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': [...new Set([props.region, 'us-east-1'])] } },
    },
    {
      Sid: 'ManageStackSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:*'],
      Resource: arn('secretsmanager', `secret:${props.namePrefix}/*`),
    },
    {
      // Ephemeral random passwords (the database master, the JWT keyring) are made at plan and apply.
      Sid: 'GenerateRandomPasswords',
      Effect: 'Allow',
      Action: ['secretsmanager:GetRandomPassword', 'secretsmanager:ListSecrets'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': props.region } },
    },
    {
      Sid: 'ManageStackQueues',
      Effect: 'Allow',
      Action: ['sqs:*'],
      Resource: arn('sqs', `${props.namePrefix}-*`),
    },
    {
      Sid: 'ManageStackParameters',
      Effect: 'Allow',
      Action: ['ssm:*'],
      Resource: arn('ssm', `parameter/${props.namePrefix}/*`),
    },
    { Sid: 'ManageCloudFront', Effect: 'Allow', Action: ['cloudfront:*'], Resource: '*' },
    {
      Sid: 'ManageStackBuckets',
      Effect: 'Allow',
      Action: ['s3:*'],
      Resource: [`arn:${partition}:s3:::${props.namePrefix}-*`, `arn:${partition}:s3:::${props.namePrefix}-*/*`],
    },
    {
      Sid: 'ManageStackRoles',
      Effect: 'Allow',
      Action: [
        'iam:*Role',
        'iam:*Roles',
        'iam:*RolePolicy',
        'iam:*RolePolicies',
        'iam:*InstanceProfile',
        'iam:*InstanceProfiles',
        'iam:TagRole',
        'iam:UntagRole',
        'iam:PassRole',
      ],
      Resource: [iam(`role/${props.namePrefix}-*`), iam(`instance-profile/${props.namePrefix}-*`)],
    },
    // The boundary is in the stack (an administrator creates it): every plan refreshes it, so the deploy role reads it.
    {
      Sid: 'ReadTheBoundary',
      Effect: 'Allow',
      Action: ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions', 'iam:ListPolicyTags'],
      Resource: boundary,
    },
    {
      Sid: 'AttachOnlyKnownManagedPolicies',
      Effect: 'Deny',
      Action: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
      Resource: '*',
      Condition: {
        ArnNotEquals: {
          'iam:PolicyARN': ATTACHABLE_MANAGED_POLICIES.map((p) => `arn:${partition}:iam::aws:policy/${p}`),
        },
      },
    },
    // Only the stack that owns the account's provider may change it: another environment's deploys trust it too.
    ...(props.existingOidcProviderArn
      ? []
      : [
          {
            Sid: 'ManageGithubOidcProvider',
            Effect: 'Allow',
            Action: ['iam:*OpenIDConnectProvider*'],
            Resource: iam(`oidc-provider/${GITHUB_OIDC_HOST}`),
          },
        ]),
    {
      Sid: 'CreateServiceLinkedRoles',
      Effect: 'Allow',
      Action: 'iam:CreateServiceLinkedRole',
      Resource: '*',
      Condition: { StringEquals: { 'iam:AWSServiceName': SERVICE_LINKED } },
    },
    {
      Sid: 'NeverChangeOwnPermissions',
      Effect: 'Deny',
      Action: [
        'iam:PutRolePolicy',
        'iam:DeleteRolePolicy',
        'iam:AttachRolePolicy',
        'iam:DetachRolePolicy',
        'iam:UpdateAssumeRolePolicy',
        'iam:DeleteRole',
        'iam:PutRolePermissionsBoundary',
        'iam:UpdateRole',
      ],
      Resource: iam(`role/${roleName}`),
    },
    // Every role it creates or changes carries the boundary, so no role it makes can exceed it.
    {
      Sid: 'RolesCarryTheBoundary',
      Effect: 'Deny',
      Action: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:PutRolePermissionsBoundary'],
      Resource: '*',
      Condition: { StringNotEquals: { 'iam:PermissionsBoundary': boundary } },
    },
    {
      Sid: 'NeverLiftTheBoundary',
      Effect: 'Deny',
      Action: [
        'iam:DeleteRolePermissionsBoundary',
        'iam:CreatePolicyVersion',
        'iam:DeletePolicy',
        'iam:DeletePolicyVersion',
        'iam:SetDefaultPolicyVersion',
      ],
      Resource: '*',
    },
    // A rewritten trust policy would let another principal (or this role) assume a stack role and use its data access.
    { Sid: 'NeverRewriteTrust', Effect: 'Deny', Action: 'iam:UpdateAssumeRolePolicy', Resource: '*' },
    { Sid: 'NeverAssumeRoles', Effect: 'Deny', Action: 'sts:AssumeRole*', Resource: '*' },
    {
      Sid: 'PassRolesOnlyToStackServices',
      Effect: 'Deny',
      Action: 'iam:PassRole',
      Resource: '*',
      Condition: { StringNotEquals: { 'iam:PassedToService': PASSED_TO_SERVICES } },
    },
    // Terraform writes these values at apply (secret_string_wo, through PutSecretValue), and provider 5.x refreshes
    // a write-only version with GetSecretValue (6.x lists version ids instead). IAM cannot tell Terraform's calls
    // from a session's own, so these two stay readable and writable by a deploy session (README: Security, residual
    // risks). No other secret is.
    {
      Sid: 'ReadOnlyTerraformWrittenSecrets',
      Effect: 'Deny',
      Action: 'secretsmanager:GetSecretValue',
      NotResource: terraformWritten,
    },
    { Sid: 'NeverBatchReadSecrets', Effect: 'Deny', Action: 'secretsmanager:BatchGetSecretValue', Resource: '*' },
    {
      Sid: 'WriteOnlyTerraformWrittenSecrets',
      Effect: 'Deny',
      Action: 'secretsmanager:PutSecretValue',
      NotResource: terraformWritten,
    },
    // It manages queues, caches and databases, never what flows through them.
    {
      Sid: 'NoDataPlaneAccess',
      Effect: 'Deny',
      Action: [
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'sqs:DeleteMessage',
        'sqs:PurgeQueue',
        'sqs:ChangeMessageVisibility',
        'elasticache:Connect',
        'rds-db:connect',
      ],
      Resource: '*',
    },
    {
      Sid: 'NoKeysThatLockOutTheAccount',
      Effect: 'Deny',
      Action: ['kms:CreateKey', 'kms:PutKeyPolicy'],
      Resource: '*',
      Condition: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } },
    },
    ...sharedDenies(props),
  ];
  if (props.hostedZoneId) {
    statements.push(
      {
        Sid: 'ManageStackRecords',
        Effect: 'Allow',
        Action: [
          'route53:ChangeResourceRecordSets',
          'route53:GetHostedZone',
          'route53:ListResourceRecordSets',
          'route53:ListTagsForResource',
        ],
        Resource: `arn:${partition}:route53:::hostedzone/${props.hostedZoneId}`,
      },
      {
        Sid: 'WatchRecordChanges',
        Effect: 'Allow',
        Action: ['route53:GetChange'],
        Resource: `arn:${partition}:route53:::change/*`,
      },
    );
  }
  if (props.stateBackend) {
    const { bucket, key } = props.stateBackend;
    statements.push(
      {
        Sid: 'ListState',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: `arn:${partition}:s3:::${bucket}`,
        Condition: { StringLike: { 's3:prefix': [key, `${key}.tflock`] } },
      },
      {
        Sid: 'ReadWriteStateAndLock',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: [`arn:${partition}:s3:::${bucket}/${key}`, `arn:${partition}:s3:::${bucket}/${key}.tflock`],
      },
    );
  }
  return { Version: '2012-10-17', Statement: statements };
}
