import { resolveSecrets } from './secrets';

describe('resolveSecrets: the push webhook signing key', () => {
  const arn = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cyphr-production/push-webhook-signing-key-x';
  const reads: string[] = [];
  const read = async (secretArn: string) => (reads.push(secretArn), `value of ${secretArn}`);
  const env = { AWS_REGION: 'eu-central-1', DATABASE_URL: 'postgres://u:p@h/db', DATABASE_AUTH: 'password' as const };

  beforeEach(() => (reads.length = 0));

  it('reads it by ARN through Secrets Manager', async () => {
    expect((await resolveSecrets({ ...env, PUSH_WEBHOOK_SECRET_ARN: arn }, read)).pushWebhookSecret).toBe(
      `value of ${arn}`,
    );
    expect(reads).toEqual([arn]);
  });

  it('takes a local value as it is, without reading anything, and has none when neither is set', async () => {
    const local = await resolveSecrets(
      { ...env, PUSH_WEBHOOK_SECRET: 'k'.repeat(32), PUSH_WEBHOOK_SECRET_ARN: arn },
      read,
    );
    expect(local.pushWebhookSecret).toBe('k'.repeat(32));
    expect((await resolveSecrets(env, read)).pushWebhookSecret).toBeUndefined();
    expect(reads).toEqual([]);
  });
});
