import { EnvironmentError, EnvironmentVariables, splitList, validateEnvironment } from './environment';
import { parseEnvFile } from './local-env-file';

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

describe('validateEnvironment', () => {
  it('types a valid local environment and fills defaults', () => {
    const env = validateEnvironment(EnvironmentVariables, { ...local, PORT: '4000' });
    expect(env.PORT).toBe(4000);
    expect(env.LOG_LEVEL).toBe('info');
  });

  it('accepts the AWS form: host + secret ARNs, no URL or secret values', () => {
    const { DATABASE_URL: _url, JWT_SECRET: _secret, ...rest } = local;
    const env = validateEnvironment(EnvironmentVariables, {
      ...rest,
      SQS_ENDPOINT: '',
      DATABASE_HOST: 'db.internal',
      DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:rds',
      JWT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:jwt',
    });
    expect(env.DATABASE_HOST).toBe('db.internal');
    expect(env.SQS_ENDPOINT).toBeUndefined();
  });

  it('names every missing or bad variable', () => {
    const attempt = () =>
      validateEnvironment(EnvironmentVariables, {
        ...local,
        REDIS_URL: 'http://nope',
        PORT: '99999',
        JWT_SECRET: 'short',
        AWS_REGION: '',
      });
    expect(attempt).toThrow(EnvironmentError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
      expect(message).toMatch(/PORT/);
      expect(message).toMatch(/JWT_SECRET must be at least 32 characters/);
      expect(message).toMatch(/AWS_REGION is required/);
    }
  });

  it('requires a database: a URL or a host with its secret', () => {
    const { DATABASE_URL: _url, ...rest } = local;
    expect(() => validateEnvironment(EnvironmentVariables, rest)).toThrow(/DATABASE_URL is required/);
    expect(() => validateEnvironment(EnvironmentVariables, { ...rest, DATABASE_HOST: 'db' })).toThrow(
      /DATABASE_SECRET_ARN is required/,
    );
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
