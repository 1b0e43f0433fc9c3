// The role GitHub Actions assumes (OIDC, no stored keys) to apply one environment's stack.
// Trust: only workflow jobs of one repository running in one GitHub environment (whose reviewers
// gate production). Permissions: the services this stack uses, in its regions; IAM only on the
// stack's own names; the Terraform state objects of this environment. It may not read secret
// values or change its own permissions (that takes an administrator's apply).
import { Construct } from 'constructs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { partitionOf } from '../constructs/iam';

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

/** Services the stack manages in its regions (the stack's region and us-east-1 for the edge). */
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
  'secretsmanager',
  'sns',
  'sqs',
  'ssm',
  'wafv2',
];

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
}

export class CiDeployRole extends Construct {
  readonly role: IamRole;
  readonly oidcProviderArn: string;

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
            Sid: 'GithubEnvironmentJobs',
            Effect: 'Allow',
            Principal: { Federated: this.oidcProviderArn },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: {
                [`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com',
                [`${GITHUB_OIDC_HOST}:sub`]: `repo:${props.githubRepository}:environment:${props.githubEnvironment}`,
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
  }

  get arn(): string {
    return this.role.arn;
  }
}

/** The deploy policy document (exported for tests and review). */
export function deployPolicy(props: CiDeployRoleProps, roleName: string): Record<string, unknown> {
  const partition = partitionOf(props.region);
  const iam = (resource: string) => `arn:${partition}:iam::${props.accountId}:${resource}`;
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'ManageStackServicesInItsRegions',
      Effect: 'Allow',
      Action: DEPLOY_SERVICES.map((service) => `${service}:*`),
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': [...new Set([props.region, 'us-east-1'])] } },
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
      ],
      Resource: iam(`role/${roleName}`),
    },
    {
      Sid: 'NeverReadSecretValues',
      Effect: 'Deny',
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:BatchGetSecretValue'],
      Resource: '*',
    },
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
