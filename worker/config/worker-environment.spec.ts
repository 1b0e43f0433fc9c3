import 'reflect-metadata';
import { EnvironmentError, validateEnvironment } from '../../common/config/environment';
import { WorkerSettings } from './worker-environment';

const base = {
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/cyphr',
  REDIS_URL: 'redis://127.0.0.1:6379',
  AWS_REGION: 'eu-central-1',
  SQS_MESSAGES_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/1/cyphr-messages',
  SQS_NOTIFICATIONS_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/1/cyphr-notifications',
};

function problems(raw: Record<string, string>): string[] {
  try {
    validateEnvironment(WorkerSettings, raw);
    return [];
  } catch (error) {
    return (error as EnvironmentError).problems;
  }
}

describe('WorkerSettings', () => {
  it('needs no JWT secret and has safe defaults', () => {
    const env = validateEnvironment(WorkerSettings, base);
    expect(env).toMatchObject({
      WORKER_RECEIVE_LOOPS: 8,
      WORKER_VISIBILITY_TIMEOUT_SECONDS: 60,
      WORKER_WAIT_TIME_SECONDS: 20,
      WORKER_METRICS_HOST: '127.0.0.1',
      PUSH_PROVIDER: 'log',
    });
  });

  it('reads numbers from strings', () => {
    expect(validateEnvironment(WorkerSettings, { ...base, WORKER_RECEIVE_LOOPS: '12' }).WORKER_RECEIVE_LOOPS).toBe(12);
  });

  it('names every bad setting at once', () => {
    const found = problems({
      ...base,
      WORKER_RECEIVE_LOOPS: '0',
      WORKER_WAIT_TIME_SECONDS: '25',
      PUSH_PROVIDER: 'pigeon',
      REDIS_URL: '',
    });
    expect(found.join('\n')).toMatch(/WORKER_RECEIVE_LOOPS/);
    expect(found.join('\n')).toMatch(/WORKER_WAIT_TIME_SECONDS/);
    expect(found.join('\n')).toMatch(/PUSH_PROVIDER/);
    expect(found.join('\n')).toMatch(/REDIS_URL/);
  });

  describe('webhook push', () => {
    const arn =
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cyphr-production/push-webhook-signing-key-AbCdEf';
    const webhook = { ...base, PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_SECRET_ARN: arn };

    it('requires a URL only for the webhook provider', () => {
      expect(problems({ ...base, PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_SECRET_ARN: arn })).toContain(
        'PUSH_WEBHOOK_URL is required when PUSH_PROVIDER=webhook',
      );
      expect(problems({ ...webhook, PUSH_WEBHOOK_URL: 'https://push.example.com/hook' })).toEqual([]);
      expect(problems({ ...webhook, PUSH_WEBHOOK_URL: 'ftp://x' })).toEqual(
        expect.arrayContaining(['PUSH_WEBHOOK_URL must be an http(s) URL']),
      );
      expect(problems(base)).toEqual([]);
    });

    it('takes plain http only to a loopback address', () => {
      expect(problems({ ...webhook, PUSH_WEBHOOK_URL: 'http://127.0.0.1:8080/push' })).toEqual([]);
      expect(problems({ ...webhook, PUSH_WEBHOOK_URL: 'http://localhost/push' })).toEqual([]);
      expect(problems({ ...webhook, PUSH_WEBHOOK_URL: 'http://push.example.com/hook' })).toEqual([
        'PUSH_WEBHOOK_URL must be https (plain http only to localhost, 127.0.0.1 or [::1])',
      ]);
      expect(problems({ ...webhook, PUSH_WEBHOOK_URL: 'http://localhost.evil.example/hook' })).toHaveLength(1);
    });

    it('names the missing signing secret, and takes it by ARN or (locally) by value', () => {
      const url = { PUSH_WEBHOOK_URL: 'https://push.example.com/hook' };
      expect(problems({ ...base, ...url, PUSH_PROVIDER: 'webhook' })).toContain(
        'PUSH_WEBHOOK_SECRET_ARN (or PUSH_WEBHOOK_SECRET locally) is required when PUSH_PROVIDER=webhook',
      );
      expect(problems({ ...base, ...url, PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_SECRET: 'x'.repeat(32) })).toEqual([]);
      expect(problems({ ...base, ...url, PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_SECRET: 'short' })).toEqual([
        'PUSH_WEBHOOK_SECRET must be at least 32 characters',
      ]);
      expect(problems({ ...webhook, ...url, PUSH_WEBHOOK_SECRET_ARN: 'cyphr/push' })).toEqual([
        'PUSH_WEBHOOK_SECRET_ARN must be a Secrets Manager secret ARN',
      ]);
    });
  });

  it('keeps unacknowledged device messages 30 days unless told otherwise, within 1 to 365', () => {
    expect(validateEnvironment(WorkerSettings, base)).toMatchObject({
      MAILBOX_RETENTION_DAYS: 30,
      MAILBOX_PURGE_INTERVAL_SECONDS: 300,
    });
    expect(validateEnvironment(WorkerSettings, { ...base, MAILBOX_RETENTION_DAYS: '7' }).MAILBOX_RETENTION_DAYS).toBe(
      7,
    );
    const found = problems({ ...base, MAILBOX_RETENTION_DAYS: '0', MAILBOX_PURGE_INTERVAL_SECONDS: 'soon' }).join('\n');
    expect(found).toMatch(/MAILBOX_RETENTION_DAYS/);
    expect(found).toMatch(/MAILBOX_PURGE_INTERVAL_SECONDS/);
    expect(problems({ ...base, MAILBOX_RETENTION_DAYS: '366' }).join('\n')).toMatch(/MAILBOX_RETENTION_DAYS/);
  });
});
