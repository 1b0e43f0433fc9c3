// The deploy role as synthesized in each shipped stack, evaluated against the escalation paths a stolen
// deploy session would try (evaluate-policy.ts: explicit deny wins, wildcards, the boundary condition).
import { Testing } from 'cdktf';
import { ENVIRONMENTS, TIERS } from '../config';
import { CyphrStack } from '../stack';
import { evaluate, type PolicyDocument, type Request } from './evaluate-policy';
import { DEPLOY_WORKFLOW, OIDC_SUB_CLAIM_KEYS } from './ci-deploy-role';

type Json = Record<string, any>;

describe.each(Object.values(ENVIRONMENTS).filter((e) => e.ci))('$name deploy role', (environment) => {
  const prefix = `cyphr-${environment.name}`;
  const account = environment.accountId;
  const region = environment.region;
  let resources: Record<string, Record<string, Json>>;
  let deploy: PolicyDocument;
  let boundary: PolicyDocument;
  const boundaryArn = `arn:aws:iam::${account}:policy/${prefix}-boundary`;
  const role = (name: string) => `arn:aws:iam::${account}:role/${name}`;
  const secret = (name: string) => `arn:aws:secretsmanager:${region}:${account}:secret:${prefix}/${name}-AbCdEf`;
  const inRegion = { 'aws:RequestedRegion': region };

  beforeAll(() => {
    const stack = new CyphrStack(Testing.app(), 'test', { environment, tier: TIERS[environment.tier] });
    resources = JSON.parse(Testing.synth(stack, true)).resource;
    deploy = JSON.parse(resources.aws_iam_role_policy.ci_deploy_policy.policy);
    boundary = JSON.parse(resources.aws_iam_policy.permissions_boundary_policy.policy);
  });

  const decide = (request: Request) => evaluate(request, [deploy]).decision;

  it('carries a boundary policy named as the deploy policy expects, on every other role of the stack', () => {
    expect(resources.aws_iam_policy.permissions_boundary_policy.name).toBe(`${prefix}-boundary`);
    for (const [address, r] of Object.entries(resources.aws_iam_role)) {
      if (address === 'ci_deploy_role') expect(r.permissions_boundary).toBeUndefined();
      else expect(r.permissions_boundary).toBe('${aws_iam_policy.permissions_boundary_policy.arn}');
    }
  });

  const escalations: [string, Request][] = [
    ['create a role without the boundary', { action: 'iam:CreateRole', resource: role(`${prefix}-admin`) }],
    [
      'create a role with another boundary',
      {
        action: 'iam:CreateRole',
        resource: role(`${prefix}-admin`),
        context: { 'iam:PermissionsBoundary': `arn:aws:iam::${account}:policy/open` },
      },
    ],
    ['put an inline *:* policy on an unbounded role', { action: 'iam:PutRolePolicy', resource: role(`${prefix}-api`) }],
    [
      'attach AdministratorAccess to a bounded role',
      {
        action: 'iam:AttachRolePolicy',
        resource: role(`${prefix}-api`),
        context: {
          'iam:PermissionsBoundary': boundaryArn,
          'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess',
        },
      },
    ],
    ['remove a role’s boundary', { action: 'iam:DeleteRolePermissionsBoundary', resource: role(`${prefix}-api`) }],
    ['rewrite the boundary', { action: 'iam:CreatePolicyVersion', resource: boundaryArn }],
    ['rewrite a trust policy', { action: 'iam:UpdateAssumeRolePolicy', resource: role(`${prefix}-api`) }],
    ['assume a stack role', { action: 'sts:AssumeRole', resource: role(`${prefix}-api`) }],
    [
      'change its own permissions',
      {
        action: 'iam:PutRolePolicy',
        resource: role(`${prefix}-ci-deploy`),
        context: { 'iam:PermissionsBoundary': boundaryArn },
      },
    ],
    [
      'pass a stack role to Lambda',
      {
        action: 'iam:PassRole',
        resource: role(`${prefix}-api`),
        context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
      },
    ],
    ['create a role in another environment', { action: 'iam:CreateRole', resource: role('cyphr-other-admin') }],
    ['create a user', { action: 'iam:CreateUser', resource: `arn:aws:iam::${account}:user/x` }],
    ['run a command on an instance', { action: 'ssm:SendCommand', resource: '*', context: inRegion }],
    ['open a session on an instance', { action: 'ssm:StartSession', resource: '*', context: inRegion }],
    ['read a secret Terraform does not write', { action: 'secretsmanager:GetSecretValue', resource: secret('other') }],
    ['batch-read secrets', { action: 'secretsmanager:BatchGetSecretValue', resource: '*' }],
    [
      'replace a secret with UpdateSecret',
      { action: 'secretsmanager:UpdateSecret', resource: secret('jwt-signing-keys') },
    ],
    [
      'move a secret’s version stage',
      { action: 'secretsmanager:UpdateSecretVersionStage', resource: secret('db-master') },
    ],
    ['open a secret’s resource policy', { action: 'secretsmanager:PutResourcePolicy', resource: secret('db-master') }],
    ['write another secret’s value', { action: 'secretsmanager:PutSecretValue', resource: secret('other') }],
    ['change a key policy', { action: 'kms:PutKeyPolicy', resource: '*', context: inRegion }],
    [
      'grant a key to a principal',
      { action: 'kms:CreateGrant', resource: '*', context: { ...inRegion, 'kms:GrantIsForAWSResource': 'false' } },
    ],
    [
      'create a key that bypasses the lockout check',
      {
        action: 'kms:CreateKey',
        resource: '*',
        context: { ...inRegion, 'kms:BypassPolicyLockoutSafetyCheck': 'true' },
      },
    ],
    ['schedule a key’s deletion', { action: 'kms:ScheduleKeyDeletion', resource: '*', context: inRegion }],
    ['disable a key', { action: 'kms:DisableKey', resource: '*', context: inRegion }],
    ['share a DB snapshot', { action: 'rds:ModifyDBSnapshotAttribute', resource: '*', context: inRegion }],
    ['share a cluster snapshot', { action: 'rds:ModifyDBClusterSnapshotAttribute', resource: '*', context: inRegion }],
    ['share an EBS snapshot', { action: 'ec2:ModifySnapshotAttribute', resource: '*', context: inRegion }],
    ['delete a recovery point', { action: 'backup:DeleteRecoveryPoint', resource: '*', context: inRegion }],
    ['delete the backup vault', { action: 'backup:DeleteBackupVault', resource: '*', context: inRegion }],
    [
      'open the vault’s access policy',
      { action: 'backup:PutBackupVaultAccessPolicy', resource: '*', context: inRegion },
    ],
    [
      'remove the vault lock',
      { action: 'backup:DeleteBackupVaultLockConfiguration', resource: '*', context: inRegion },
    ],
    [
      'use a service outside its regions',
      { action: 'ec2:RunInstances', resource: '*', context: { 'aws:RequestedRegion': 'ap-south-1' } },
    ],
  ];

  it.each(escalations)('cannot %s', (_, request) => {
    expect(decide(request)).not.toBe('allowed');
  });

  const legitimate: [string, Request][] = [
    [
      'create a stack role carrying the boundary',
      {
        action: 'iam:CreateRole',
        resource: role(`${prefix}-api`),
        context: { 'iam:PermissionsBoundary': boundaryArn },
      },
    ],
    [
      'put the least-privilege policy on a bounded role',
      {
        action: 'iam:PutRolePolicy',
        resource: role(`${prefix}-api`),
        context: { 'iam:PermissionsBoundary': boundaryArn },
      },
    ],
    [
      'pass an instance role to EC2',
      {
        action: 'iam:PassRole',
        resource: role(`${prefix}-api`),
        context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
      },
    ],
    ['launch instances in its region', { action: 'ec2:RunInstances', resource: '*', context: inRegion }],
    ['create the database', { action: 'rds:CreateDBInstance', resource: '*', context: inRegion }],
    [
      'let RDS take a grant on the data key',
      { action: 'kms:CreateGrant', resource: '*', context: { ...inRegion, 'kms:GrantIsForAWSResource': 'true' } },
    ],
    ['create a key', { action: 'kms:CreateKey', resource: '*', context: inRegion }],
    ['create a stack secret', { action: 'secretsmanager:CreateSecret', resource: secret('jwt-signing-keys') }],
    [
      'write the JWT keyring at apply',
      { action: 'secretsmanager:PutSecretValue', resource: secret('jwt-signing-keys') },
    ],
    ['make an ephemeral password', { action: 'secretsmanager:GetRandomPassword', resource: '*', context: inRegion }],
    // Every plan refreshes the boundary policy the stack holds.
    [
      'read the boundary on refresh',
      { action: 'iam:GetPolicyVersion', resource: `arn:aws:iam::${account}:policy/${prefix}-boundary` },
    ],
    [
      'create a stack queue',
      { action: 'sqs:CreateQueue', resource: `arn:aws:sqs:${region}:${account}:${prefix}-messages` },
    ],
    ['create the backup vault', { action: 'backup:CreateBackupVault', resource: '*', context: inRegion }],
  ];

  it.each(legitimate)('can %s', (_, request) => {
    expect(evaluate(request, [deploy])).toMatchObject({ decision: 'allowed' });
  });

  it('may not touch queues or secrets of another environment', () => {
    expect(
      decide({ action: 'sqs:DeleteQueue', resource: `arn:aws:sqs:${region}:${account}:cyphr-other-messages` }),
    ).not.toBe('allowed');
    expect(
      decide({ action: 'secretsmanager:DeleteSecret', resource: secret('x').replace(prefix, 'cyphr-other') }),
    ).not.toBe('allowed');
  });

  describe('a role it creates, whatever inline policy it is given', () => {
    const everything: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    it.each([
      ['create users', { action: 'iam:CreateUser', resource: '*' }],
      ['change roles', { action: 'iam:PutRolePolicy', resource: '*' }],
      ['chain into another role', { action: 'sts:AssumeRole', resource: '*' }],
      ['run commands on instances', { action: 'ssm:SendCommand', resource: '*', context: inRegion }],
      ['delete recovery points', { action: 'backup:DeleteRecoveryPoint', resource: '*', context: inRegion }],
      ['schedule key deletion', { action: 'kms:ScheduleKeyDeletion', resource: '*', context: inRegion }],
      ['share snapshots', { action: 'rds:ModifyDBSnapshotAttribute', resource: '*', context: inRegion }],
      [
        'leave the stack’s regions',
        { action: 'sqs:SendMessage', resource: '*', context: { 'aws:RequestedRegion': 'sa-east-1' } },
      ],
    ] as [string, Request][])('cannot %s', (_, request) => {
      expect(evaluate(request, [everything], boundary).decision).not.toBe('allowed');
    });
    it('cannot read a secret from outside the VPC, even when trusted by someone outside', () => {
      const read = { action: 'secretsmanager:GetSecretValue', resource: secret('jwt-signing-keys') };
      expect(evaluate({ ...read, context: inRegion }, [everything], boundary).decision).toBe('explicitly denied');
      expect(
        evaluate({ ...read, context: { ...inRegion, 'aws:SourceVpce': 'vpce-0123' } }, [everything], boundary).decision,
      ).toBe('allowed');
    });
    it('still does what the stack’s roles do', () => {
      expect(
        evaluate({ action: 'sqs:ReceiveMessage', resource: '*', context: inRegion }, [everything], boundary),
      ).toMatchObject({
        decision: 'allowed',
      });
      expect(
        evaluate({ action: 'kms:Decrypt', resource: '*', context: inRegion }, [everything], boundary).decision,
      ).toBe('allowed');
    });
  });

  it('trusts only the apply job of the deploy workflow on main, in its GitHub environment', () => {
    const trust = JSON.parse(resources.aws_iam_role.ci_deploy_role.assume_role_policy).Statement;
    expect(trust).toHaveLength(1);
    const repo = environment.ci!.githubRepository;
    expect(trust[0]).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRoleWithWebIdentity' });
    expect(trust[0].Condition).toEqual({
      StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub':
          `repo:${repo}:environment:${environment.name}:ref:refs/heads/main` +
          `:job_workflow_ref:${repo}/.github/workflows/apply.yml@refs/heads/main`,
      },
    });
    // No wildcard operator: a StringLike would let other branches or workflows through.
    expect(JSON.stringify(trust)).not.toContain('StringLike');
    expect(OIDC_SUB_CLAIM_KEYS).toEqual(['repo', 'context', 'ref', 'job_workflow_ref']);
    expect(DEPLOY_WORKFLOW).toEqual({ path: '.github/workflows/apply.yml', ref: 'refs/heads/main' });
  });
});
