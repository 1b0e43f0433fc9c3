// The Terraform harness plans a small cdktf stack (VPC + SQS queue) and an HCL module offline,
// with dummy credentials, whatever the caller's AWS environment says.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, S3Backend, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version';
import { awsProviderAliases, overrideDocument, planStack, TerraformStepError } from '../../scripts/terraform/harness';
import { SecretsManagerStandIn } from '../../scripts/testing/aws/secrets-manager';

// The project's testTimeout is not applied by every jest entry point; plans need more than 5 s.
jest.setTimeout(600_000);

const outdir = mkdtempSync(join(tmpdir(), 'cyphr-harness-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function synthSmallStack(): string {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'small');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1', profile: 'someone-real' });
  new AwsProvider(stack, 'aws-us-east-1', { region: 'us-east-1', alias: 'us_east_1' });
  // A remote backend the harness must replace with a local one.
  new S3Backend(stack, { bucket: 'real-state-bucket', key: 'small.tfstate', region: 'eu-central-1' });
  new Vpc(stack, 'vpc', { cidrBlock: '10.0.0.0/16', enableDnsHostnames: true });
  new SqsQueue(stack, 'queue', { name: 'harness-queue', sqsManagedSseEnabled: true, receiveWaitTimeSeconds: 20 });
  app.synth();
  return join(outdir, 'stacks', 'small');
}

describe('terraform harness', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('gives every aws provider block, aliases included, dummy keys and a local backend', () => {
    const dir = synthSmallStack();
    const aliases = awsProviderAliases(dir);
    expect(aliases).toEqual([undefined, 'us_east_1']);
    const doc = overrideDocument(aliases, '/tmp/x/terraform.tfstate') as {
      provider: { aws: Record<string, unknown>[] };
      terraform: unknown;
    };
    expect(doc.provider.aws).toHaveLength(2);
    expect(doc.provider.aws[1]).toMatchObject({
      alias: 'us_east_1',
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
    });
    expect(doc.terraform).toEqual({ backend: { local: { path: '/tmp/x/terraform.tfstate' } } });
  });

  it('points every aws provider block at the local Secrets Manager endpoint it is given', () => {
    const doc = overrideDocument([undefined, 'us_east_1'], '/tmp/x/terraform.tfstate', {
      secretsmanager: 'http://127.0.0.1:1234',
    }) as { provider: { aws: Record<string, unknown>[] } };
    for (const block of doc.provider.aws)
      expect(block.endpoints).toEqual([{ secretsmanager: 'http://127.0.0.1:1234' }]);
  });

  it('plans an ephemeral random password (GetRandomPassword during plan) written only by a write-only argument', async () => {
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'ephemeral');
    new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
    stack.addOverride('ephemeral.aws_secretsmanager_random_password.value', { password_length: 40 });
    const secret = new SecretsmanagerSecret(stack, 'secret', { name: 'harness-secret' });
    new SecretsmanagerSecretVersion(stack, 'version', {
      secretId: secret.id,
      secretStringWo: '${ephemeral.aws_secretsmanager_random_password.value.random_password}',
      secretStringWoVersion: 1,
    });
    app.synth();
    const standIn = await SecretsManagerStandIn.start();
    try {
      const result = await planStack(join(outdir, 'stacks', 'ephemeral'), { secretsManagerEndpoint: standIn.url });
      expect(standIn.calls.map((c) => c.action)).toContain('GetRandomPassword');
      expect(standIn.randomPasswords).not.toHaveLength(0);
      const version = result.after('aws_secretsmanager_secret_version.version');
      expect(version.secret_string_wo ?? null).toBeNull();
      expect(version.secret_string_wo_version).toBe(1);
      const shown = JSON.stringify(result.plan);
      for (const password of standIn.randomPasswords) expect(shown).not.toContain(password);
    } finally {
      await standIn.close();
    }
    // Without an endpoint, the harness starts its own stand-in.
    await expect(planStack(join(outdir, 'stacks', 'ephemeral'))).resolves.toBeDefined();
  });

  it('plans a VPC and an SQS queue offline, ignoring the caller credentials and backend', async () => {
    const dir = synthSmallStack();
    // If any of this leaked through, the provider would try a profile that does not exist.
    process.env.AWS_PROFILE = 'does-not-exist';
    process.env.AWS_ACCESS_KEY_ID = 'AKIALEAKEDLEAKEDLEAK';
    process.env.AWS_SECRET_ACCESS_KEY = 'leaked';
    const result = await planStack(dir, { keepWorkDir: true });
    try {
      expect(result.validate.valid).toBe(true);
      expect(result.countByType()).toEqual({ aws_sqs_queue: 1, aws_vpc: 1 });
      expect(result.createCount()).toBe(2);
      expect(result.after('aws_sqs_queue.queue')).toMatchObject({
        name: 'harness-queue',
        receive_wait_time_seconds: 20,
      });
      expect(result.resources('aws_vpc')[0].change.after).toMatchObject({ cidr_block: '10.0.0.0/16' });
      expect(existsSync(join(dir, '.terraform'))).toBe(false); // the source stack is left alone
    } finally {
      rmSync(result.workDir, { recursive: true, force: true });
    }
  });

  it('plans an HCL root module with an s3 backend, an account guard, a profile and a role', async () => {
    const dir = join(outdir, 'hcl');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'main.tf'),
      [
        'terraform {',
        '  backend "s3" {',
        '    bucket = "real-state-bucket"',
        '    key    = "hcl.tfstate"',
        '    region = "eu-central-1"',
        '  }',
        '  required_providers {',
        '    aws = {',
        '      source  = "hashicorp/aws"',
        '      version = "5.100.0"',
        '    }',
        '  }',
        '}',
        'provider "aws" {',
        '  allowed_account_ids = [',
        '    "111111111111"',
        '  ]',
        '  profile = "someone-real"',
        '  region  = "eu-central-1"',
        '  assume_role {',
        '    role_arn = "arn:aws:iam::111111111111:role/deployer"',
        '  }',
        '}',
        'provider "aws" {',
        '  alias  = "us_east_1"',
        '  region = "us-east-1"',
        '}',
        'resource "aws_sqs_queue" "q" {',
        '  name                    = "hcl-queue"',
        '  sqs_managed_sse_enabled = true',
        '}',
        '',
      ].join('\n'),
    );
    expect(awsProviderAliases(dir)).toEqual([undefined, 'us_east_1']);
    const result = await planStack(dir);
    expect(result.countByType()).toEqual({ aws_sqs_queue: 1 });
  });

  it('fails with terraform’s own diagnostics when the configuration is invalid', async () => {
    const dir = join(outdir, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'main.tf.json'),
      JSON.stringify({
        terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
        provider: { aws: [{ region: 'eu-central-1' }] },
        resource: { aws_sqs_queue: { q: { name: 'x', not_an_argument: 1 } } },
      }),
    );
    const failure = planStack(dir);
    await expect(failure).rejects.toThrow(TerraformStepError);
    await expect(failure).rejects.toThrow(/terraform validate failed[\s\S]*not_an_argument/);
  });

  it('refuses a directory without Terraform files', async () => {
    const dir = join(outdir, 'empty');
    mkdirSync(dir, { recursive: true });
    await expect(planStack(dir)).rejects.toThrow(/holds no cdk.tf.json/);
  });
});
