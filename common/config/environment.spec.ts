import 'reflect-metadata';
import { ApiSettings } from '../../server/config/api-settings';
import { WorkerSettings } from '../../worker/config/worker-environment';
import { EnvironmentError, SharedSettings, splitList, validateEnvironment } from './environment';
import { parseEnvFile } from './local-env-file';
import { MigrateSettings } from './migrate-settings';

const local = {
  DATABASE_URL: 'postgres://app:pw@127.0.0.1:55432/cyphr',
  DATABASE_REPLICA_URLS: 'postgres://app:pw@127.0.0.1:55433/cyphr',
  REDIS_URL: 'redis://default:pw@127.0.0.1:56379',
  AWS_REGION: 'us-east-1',
  SQS_ENDPOINT: 'http://127.0.0.1:59324',
  SQS_MESSAGES_QUEUE_URL: 'http://sqs.us-east-1.localhost:59324/000000000000/cyphr-messages',
  SQS_NOTIFICATIONS_QUEUE_URL: 'http://sqs.us-east-1.localhost:59324/000000000000/cyphr-notifications',
  JWT_SECRET: 'x'.repeat(64),
};

/** The AWS form: hosts and IAM users, secrets by ARN only. */
const aws = {
  AWS_REGION: 'eu-central-1',
  DATABASE_HOST: 'db.internal',
  DATABASE_AUTH: 'iam',
  DATABASE_SSL: 'true',
  REDIS_URL: 'rediss://cache.internal:6379',
  REDIS_AUTH: 'iam',
  REDIS_USER: 'cyphr-staging-worker',
  REDIS_IAM_CACHE_NAME: 'cyphr-staging-redis',
  SQS_MESSAGES_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/1/cyphr-messages',
  SQS_NOTIFICATIONS_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/1/cyphr-notifications',
};

function problems<T extends object>(type: new () => T, raw: Record<string, string>): string[] {
  try {
    validateEnvironment(type, raw);
    return [];
  } catch (error) {
    return (error as EnvironmentError).problems;
  }
}

/** The variables the problems name, once each (a missing value may fail several rules). */
function named(found: string[]): string[] {
  return [...new Set(found.map((problem) => problem.split(/[ :]/)[0]))];
}

describe('validateEnvironment', () => {
  it('types a valid local environment and fills defaults', () => {
    const env = validateEnvironment(ApiSettings, { ...local, PORT: '4000' });
    expect(env.PORT).toBe(4000);
    expect(env.LOG_LEVEL).toBe('info');
  });

  it('accepts the AWS form for the API: host, IAM users, the keyring by ARN, no URL or secret values', () => {
    const env = validateEnvironment(ApiSettings, {
      ...aws,
      DATABASE_USER: 'cyphr_api',
      SQS_ENDPOINT: '',
      JWT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:jwt',
    });
    expect(env.DATABASE_HOST).toBe('db.internal');
    expect(env.SQS_ENDPOINT).toBeUndefined();
  });

  it('names every missing or bad variable', () => {
    const found = problems(ApiSettings, {
      ...local,
      REDIS_URL: 'http://nope',
      PORT: '99999',
      JWT_SECRET: 'short',
      AWS_REGION: '',
    });
    expect(found.join('\n')).toMatch(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(found.join('\n')).toMatch(/PORT/);
    expect(found).toContain('JWT_SECRET must be at least 32 characters');
    expect(found).toContain('AWS_REGION is required');
  });

  it('requires a database: a URL or a host, and the IAM user with DATABASE_AUTH=iam', () => {
    const { DATABASE_URL: _url, ...rest } = local;
    expect(problems(SharedSettings, rest).join('\n')).toMatch(/DATABASE_URL is required/);
    expect(problems(SharedSettings, { ...rest, DATABASE_HOST: 'db' })).toContain(
      'DATABASE_SECRET_ARN is required when DATABASE_HOST is set and DATABASE_AUTH=password',
    );
    const iam = problems(SharedSettings, { ...rest, DATABASE_HOST: 'db', DATABASE_AUTH: 'iam' });
    expect(named(iam)).toEqual(['DATABASE_USER']);
    expect(iam).toContain('DATABASE_USER is required when DATABASE_AUTH=iam');
  });
});

describe('settings per role', () => {
  it('the API needs a JWT key; the worker and the migration do not', () => {
    const { JWT_SECRET: _secret, ...withoutJwt } = local;
    expect(named(problems(ApiSettings, withoutJwt))).toEqual(['JWT_SECRET']);
    expect(problems(ApiSettings, withoutJwt)).toContain('JWT_SECRET (or JWT_SECRET_ARN) is required');
    expect(problems(WorkerSettings, withoutJwt)).toEqual([]);
    expect(problems(MigrateSettings, withoutJwt)).toEqual([]);
  });

  it('the migration reads the database only: no Redis or queues needed', () => {
    expect(problems(MigrateSettings, { DATABASE_URL: local.DATABASE_URL, AWS_REGION: 'eu-central-1' })).toEqual([]);
  });

  it('on IAM the migration needs its owner role and the master secret, which the worker env file carries', () => {
    const worker = { ...aws, DATABASE_USER: 'cyphr_worker' };
    expect(problems(WorkerSettings, worker)).toEqual([]);
    expect(named(problems(MigrateSettings, worker))).toEqual(['DATABASE_MIGRATION_USER', 'DATABASE_MASTER_SECRET_ARN']);
    const env = validateEnvironment(MigrateSettings, {
      ...worker,
      DATABASE_MIGRATION_USER: 'cyphr_migrate',
      DATABASE_MASTER_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:1:secret:cyphr-staging/db-master',
    });
    expect(env.DATABASE_MIGRATION_USER).toBe('cyphr_migrate');
  });

  it('Redis over IAM needs the user and the cache name', () => {
    const { REDIS_USER: _user, REDIS_IAM_CACHE_NAME: _name, ...rest } = aws;
    const found = problems(WorkerSettings, { ...rest, DATABASE_USER: 'cyphr_worker' });
    expect(named(found)).toEqual(['REDIS_USER', 'REDIS_IAM_CACHE_NAME']);
    expect(found).toContain('REDIS_USER is required when REDIS_AUTH=iam');
  });
});

describe('splitList and parseEnvFile', () => {
  it('splits comma lists without blanks', () => {
    expect(splitList(' a, ,b ,')).toEqual(['a', 'b']);
    expect(splitList(undefined)).toEqual([]);
  });

  it('parses KEY=value lines, skipping comments and stripping quotes', () => {
    expect(parseEnvFile('# c\nA=1\nB="two words"\n\n  C = x=y\n')).toEqual({ A: '1', B: 'two words', C: 'x=y' });
  });
});
