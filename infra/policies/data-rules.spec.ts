// Each data-layer rule fails synth on a deliberately bad resource, through the PolicyAspect; the
// write-only forms and a cross-region replica with its own key pass.
import { Aspects, Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DbInstance, type DbInstanceConfig } from '@cdktf/provider-aws/lib/db-instance';
import { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group';
import { ElasticacheUser } from '@cdktf/provider-aws/lib/elasticache-user';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version';
import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { PolicyAspect } from './aspect';
import { dataPolicyRules } from './data-rules';
import { suppressPolicy } from './suppressions';

const REGION = 'eu-central-1';

function stackWith(build: (scope: Construct) => void): TerraformStack {
  const stack = new TerraformStack(Testing.app(), 'data-policy-test');
  new AwsProvider(stack, 'aws', { region: REGION });
  build(stack);
  Aspects.of(stack).add(new PolicyAspect({ production: true, rules: dataPolicyRules(stack, REGION) }));
  return stack;
}

const primary = (s: Construct, overrides: Partial<DbInstanceConfig> = {}) =>
  new DbInstance(s, 'primary', {
    identifier: 'db',
    engine: 'postgres',
    instanceClass: 'db.t4g.medium',
    allocatedStorage: 20,
    storageEncrypted: true,
    kmsKeyId: 'arn:aws:kms:eu-central-1:111111111111:key/k',
    username: 'admin',
    passwordWo: 'x',
    passwordWoVersion: 1,
    ...overrides,
  });
const replica = (s: Construct, source: string, overrides: Partial<DbInstanceConfig> = {}) =>
  new DbInstance(s, 'replica', {
    identifier: 'db-replica',
    instanceClass: 'db.t4g.medium',
    replicateSourceDb: source,
    storageEncrypted: true,
    ...overrides,
  });

const synth = (build: (s: Construct) => void) => () => Testing.synth(stackWith(build), true);

describe('data policy rules', () => {
  it('rds-replica-of-managed-password-source fires on a replica of a managed-password primary', () => {
    const bad = (s: Construct) =>
      replica(s, primary(s, { manageMasterUserPassword: true, passwordWo: undefined }).identifier);
    expect(synth(bad)).toThrow(/policy rds-replica-of-managed-password-source \(aws_db_instance\.replica\)/);
    // Named by its literal identifier, too.
    expect(
      synth((s) => {
        primary(s, { manageMasterUserPassword: true, passwordWo: undefined });
        replica(s, 'db');
      }),
    ).toThrow(/policy rds-replica-of-managed-password-source/);
  });

  it('rds-replica-kms-key-same-region fires on a same-region replica with kms_key_id', () => {
    expect(
      synth((s) => replica(s, primary(s).identifier, { kmsKeyId: 'arn:aws:kms:eu-central-1:111111111111:key/k' })),
    ).toThrow(/policy rds-replica-kms-key-same-region \(aws_db_instance\.replica\): kms_key_id must not be set/);
    // A source ARN in this region is the same region.
    expect(
      synth((s) =>
        replica(s, 'arn:aws:rds:eu-central-1:111111111111:db:db', {
          kmsKeyId: 'arn:aws:kms:eu-central-1:111111111111:key/k',
        }),
      ),
    ).toThrow(/policy rds-replica-kms-key-same-region/);
  });

  it('a cross-region replica may (must) name its key; a same-region replica without one passes', () => {
    expect(
      synth((s) => {
        replica(s, 'arn:aws:rds:eu-west-1:111111111111:db:db', {
          kmsKeyId: 'arn:aws:kms:eu-central-1:111111111111:key/k',
        });
      }),
    ).not.toThrow();
    expect(synth((s) => replica(s, primary(s).identifier))).not.toThrow();
  });

  const visible: Record<string, (s: Construct) => unknown> = {
    'aws_db_instance.password': (s) => primary(s, { password: 'hunter2hunter2', passwordWo: undefined }),
    'aws_elasticache_replication_group.auth_token': (s) =>
      new ElasticacheReplicationGroup(s, 'redis', {
        replicationGroupId: 'r',
        description: 'r',
        transitEncryptionEnabled: true,
        atRestEncryptionEnabled: 'true',
        authToken: 'a-token-of-at-least-16',
      }),
    'aws_elasticache_user.passwords': (s) =>
      new ElasticacheUser(s, 'user', {
        userId: 'u',
        userName: 'u',
        engine: 'redis',
        accessString: 'on ~* +@all',
        passwords: ['a-password-of-at-least-16'],
      }),
    'aws_secretsmanager_secret_version.secret_string': (s) =>
      new SecretsmanagerSecretVersion(s, 'version', { secretId: 's', secretString: 'hunter2' }),
    'aws_ssm_parameter.value': (s) =>
      new SsmParameter(s, 'parameter', { name: '/p', type: 'SecureString', value: 'hunter2' }),
  };

  it.each(Object.keys(visible))('no-terraform-visible-secret fires on %s', (where) => {
    const [type, argument] = where.split('.');
    expect(synth((s) => visible[where](s))).toThrow(
      new RegExp(`policy no-terraform-visible-secret \\(${type}\\.\\w+\\): ${argument} would keep the secret`),
    );
  });

  it('the write-only forms, IAM users and plain String parameters pass', () => {
    expect(
      synth((s) => {
        primary(s);
        new SecretsmanagerSecretVersion(s, 'version', { secretId: 's', secretStringWo: 'x', secretStringWoVersion: 1 });
        new SsmParameter(s, 'parameter', { name: '/p', type: 'SecureString', valueWo: 'x', valueWoVersion: 1 });
        new SsmParameter(s, 'setting', { name: '/s', type: 'String', value: 'not a secret' });
        new ElasticacheUser(s, 'user', {
          userId: 'u',
          userName: 'u',
          engine: 'redis',
          accessString: 'on ~* +@all',
          authenticationMode: { type: 'iam' },
        });
      }),
    ).not.toThrow();
  });

  it('a written reason suppresses a rule on that one resource', () => {
    expect(
      synth((s) => {
        const version = new SecretsmanagerSecretVersion(s, 'version', { secretId: 's', secretString: 'public' });
        suppressPolicy(version, 'no-terraform-visible-secret', 'a public value kept in Secrets Manager for uniformity');
      }),
    ).not.toThrow();
  });
});
