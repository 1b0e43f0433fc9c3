// The settings contract between the stack and the processes, checked from both sides: each role's env file,
// read back from the synthesized launch templates, must pass the validator that role's process runs at start.
import 'reflect-metadata';
import { Testing } from 'cdktf';
import { validateEnvironment } from '../common/config/environment';
import { MigrateSettings } from '../common/config/migrate-settings';
import { DATABASE_ROLES } from '../common/database/roles';
import { ApiSettings } from '../server/config/api-settings';
import { WorkerSettings } from '../worker/config/worker-environment';
import { ENVIRONMENTS, pushOf, TIERS, type TierName } from './config';
import { UNIT_SETTINGS, userDataScript, type ApiEnvFile, type WorkerEnvFile } from './constructs/user-data';
import { CyphrStack } from './stack';
import { placeholder, roleEnvFiles, substituteReferences, userDataScriptOf, type EnvFile } from './user-data-env';

const cases = Object.values(ENVIRONMENTS).flatMap((environment) =>
  (Object.keys(TIERS) as TierName[]).map((tierName) => ({ environment, tierName, tier: TIERS[tierName] })),
);

describe.each(cases)(
  '$environment.name at tier $tierName: each role gets the settings it needs',
  ({ environment, tier }) => {
    let json: { resource: Record<string, Record<string, Record<string, unknown>>> };
    let files: Record<'api' | 'worker', EnvFile>;
    const prefix = `cyphr-${environment.name}`;

    beforeAll(() => {
      const stack = new CyphrStack(Testing.app(), 'test', { environment, tier });
      json = JSON.parse(Testing.synth(stack));
      files = roleEnvFiles(json);
    });

    it('the api env file passes the API validator', () => {
      const env = validateEnvironment(ApiSettings, files.api);
      expect(env).toMatchObject({
        PORT: 3001,
        DATABASE_AUTH: 'iam',
        DATABASE_USER: DATABASE_ROLES.api,
        DATABASE_SSL: 'true',
        DATABASE_CA_FILE: '/opt/cyphr/current/certs/rds-ca.pem',
        REDIS_AUTH: 'iam',
        REDIS_USER: `${prefix}-api`,
        REDIS_IAM_CACHE_NAME: `${prefix}-redis`,
        REDIS_URL: 'rediss://placeholder:6379',
        REDIS_CLUSTER: tier.cache.shards > 1 ? 'true' : 'false',
        TRUST_PROXY: '2',
      });
      expect(env.JWT_SECRET_ARN).toMatch(/^arn:/);
      expect(env.JWT_SECRET).toBeUndefined();
    });

    it('the worker env file passes the worker validator and the migration validator', () => {
      const worker = validateEnvironment(WorkerSettings, files.worker);
      expect(worker).toMatchObject({
        DATABASE_AUTH: 'iam',
        DATABASE_USER: DATABASE_ROLES.worker,
        REDIS_AUTH: 'iam',
        REDIS_USER: `${prefix}-worker`,
        REDIS_IAM_CACHE_NAME: `${prefix}-redis`,
      });
      const migrate = validateEnvironment(MigrateSettings, files.worker);
      expect(migrate.DATABASE_MIGRATION_USER).toBe(DATABASE_ROLES.migrate);
      expect(migrate.DATABASE_MASTER_SECRET_ARN).toMatch(/^arn:/);
      // The api's file could not run the migration: it has neither the owner role nor the master secret.
      expect(() => validateEnvironment(MigrateSettings, files.api)).toThrow(/DATABASE_MIGRATION_USER/);
    });

    it('the worker gets the environment’s push provider, a webhook’s key by ARN only, and the mailbox retention', () => {
      const push = pushOf(environment);
      const worker = validateEnvironment(WorkerSettings, files.worker);
      expect(worker.PUSH_PROVIDER).toBe(push.provider);
      expect(worker.MAILBOX_RETENTION_DAYS).toBe(environment.mailboxRetentionDays ?? 30);
      if (push.provider === 'webhook') {
        expect(worker.PUSH_WEBHOOK_URL).toBe(push.url);
        expect(worker.PUSH_WEBHOOK_SECRET_ARN).toMatch(/^arn:aws:secretsmanager:/);
      } else {
        expect(files.worker).not.toHaveProperty('PUSH_WEBHOOK_URL');
        expect(files.worker).not.toHaveProperty('PUSH_WEBHOOK_SECRET_ARN');
      }
      expect(files.worker).not.toHaveProperty('PUSH_WEBHOOK_SECRET');
      expect(files.api).not.toHaveProperty('PUSH_PROVIDER');
    });

    it("the worker's visibility timeout is the messages queue's", () => {
      const queues = Object.values(json.resource.aws_sqs_queue);
      const messages = queues.find((queue) => queue.name === `${prefix}-messages.fifo`);
      expect(Number(files.worker.WORKER_VISIBILITY_TIMEOUT_SECONDS)).toBe(messages?.visibility_timeout_seconds);
    });

    it('no role holds what it must not: the master secret is the worker’s, the JWT key the api’s', () => {
      expect(files.api).not.toHaveProperty('DATABASE_MIGRATION_USER');
      expect(files.api).not.toHaveProperty('DATABASE_MASTER_SECRET_ARN');
      expect(files.worker).not.toHaveProperty('JWT_SECRET_ARN');
      expect(files.worker).not.toHaveProperty('PORT');
      expect(files.worker).not.toHaveProperty('TRUST_PROXY');
      for (const env of Object.values(files)) {
        for (const key of [
          'DATABASE_SECRET_ARN',
          'REDIS_AUTH_SECRET_ARN',
          'DATABASE_URL',
          'JWT_SECRET',
          'SQS_ENDPOINT',
        ])
          expect(env).not.toHaveProperty(key);
      }
    });

    it('leaves the per-process settings to the units: an env file would override them for every process', () => {
      for (const role of ['api', 'worker'] as const)
        for (const name of UNIT_SETTINGS[role]) expect(files[role]).not.toHaveProperty(name);
    });
  },
);

describe('user data', () => {
  it('refuses a per-process setting in an env file, naming it and the unit that sets it', () => {
    const api = { METRICS_PORT: '9480' } as unknown as ApiEnvFile;
    expect(() => userDataScript('api', api, 2)).toThrow(
      'api: METRICS_PORT set per process by cyphr-api@.service, not in the env file',
    );
    const worker = { WORKER_METRICS_PORT: '9470' } as unknown as WorkerEnvFile;
    expect(() => userDataScript('worker', worker)).toThrow(/WORKER_METRICS_PORT .* cyphr-worker@\.service/);
  });
});

describe('reading env files back from user data', () => {
  it('undoes the HCL quoting of base64encode("...") and replaces every reference, nested ones too', () => {
    const script = userDataScriptOf(
      '${base64encode("#!/bin/bash\\ncat > /etc/cyphr/cyphr.env <<\'CYPHR_ENV\'\\nA=${x.y[0].arn}\\nB=\\"q\\"\\nCYPHR_ENV\\n")}',
    );
    expect(script).toBe('#!/bin/bash\ncat > /etc/cyphr/cyphr.env <<\'CYPHR_ENV\'\nA=${x.y[0].arn}\nB="q"\nCYPHR_ENV\n');
    expect(
      substituteReferences(
        { H: '${a.address},${b.address}', U: 'rediss://${c.endpoint}:6379', S: '${q.url}', K: '${tolist(s[0]).arn}' },
        (key, reference, value) => `${placeholder(key, reference, value)}|${reference}`,
      ),
    ).toEqual({
      H: 'placeholder|a.address,placeholder|b.address',
      U: 'rediss://placeholder|c.endpoint:6379',
      S: 'placeholder|q.url',
      K: 'placeholder|tolist(s[0]).arn',
    });
  });

  it('decodes plain base64 user data', () => {
    const script = "cat > /etc/cyphr/cyphr.env <<'CYPHR_ENV'\nA=1\nCYPHR_ENV\n";
    expect(userDataScriptOf(Buffer.from(script).toString('base64'))).toBe(script);
  });
});
