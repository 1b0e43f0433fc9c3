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

  it('requires a webhook URL only for the webhook provider', () => {
    expect(problems({ ...base, PUSH_PROVIDER: 'webhook' })).toContain(
      'PUSH_WEBHOOK_URL is required when PUSH_PROVIDER=webhook',
    );
    expect(problems({ ...base, PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_URL: 'https://push.example.com/hook' })).toEqual(
      [],
    );
    expect(problems({ ...base, PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_URL: 'ftp://x' })).toEqual([
      'PUSH_WEBHOOK_URL must be an http(s) URL',
    ]);
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
