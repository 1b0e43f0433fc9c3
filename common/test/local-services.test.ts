import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createClient } from 'redis';
import { createSqsClient } from '../aws/sqs-client';
import { splitList } from '../config/environment';
import { eventually } from '../../scripts/testing/waiting';

// Proves the local topology the other suites rely on: a streaming replica, Redis, and an SQS server with redrive.
const env = process.env;

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

describe('local services', () => {
  describe('PostgreSQL primary and streaming replica', () => {
    let primary: Client;
    let replica: Client;
    const table = `harness_${randomUUID().replace(/-/g, '')}`;

    beforeAll(async () => {
      primary = await connect(env.DATABASE_URL!);
      replica = await connect(splitList(env.DATABASE_REPLICA_URLS)[0]);
    });
    afterAll(async () => {
      await primary.query(`DROP TABLE IF EXISTS ${table}`);
      await Promise.all([primary.end(), replica.end()]);
    });

    it('has the replica in recovery and the primary not', async () => {
      const [p, r] = await Promise.all([
        primary.query('SELECT pg_is_in_recovery() AS r'),
        replica.query('SELECT pg_is_in_recovery() AS r'),
      ]);
      expect(p.rows[0].r).toBe(false);
      expect(r.rows[0].r).toBe(true);
    });

    it('streams a write on the primary to the replica', async () => {
      const value = randomUUID();
      await primary.query(`CREATE TABLE ${table} (value text)`);
      await primary.query(`INSERT INTO ${table} VALUES ($1)`, [value]);
      const seen = await eventually(async () => {
        const exists = await replica.query(`SELECT to_regclass($1) AS t`, [table]);
        if (!exists.rows[0].t) return undefined;
        const rows = await replica.query(`SELECT value FROM ${table}`);
        return rows.rowCount ? rows.rows[0].value : undefined;
      });
      expect(seen).toBe(value);
    });

    it('refuses writes on the replica', async () => {
      await expect(replica.query('CREATE TABLE harness_never (x int)')).rejects.toThrow(/read-only transaction/);
    });
  });

  describe('Redis', () => {
    it('answers with the configured credentials and refuses without them', async () => {
      const redis = createClient({ url: env.REDIS_URL });
      await redis.connect();
      const key = `harness:${randomUUID()}`;
      await redis.set(key, 'ok', { EX: 10 });
      expect(await redis.get(key)).toBe('ok');
      await redis.quit();

      const url = new URL(env.REDIS_URL!);
      const anonymous = createClient({ url: `redis://${url.host}`, socket: { reconnectStrategy: false } });
      anonymous.on('error', () => undefined);
      await expect(anonymous.connect()).rejects.toThrow(/NOAUTH/);
      anonymous.destroy();
    });
  });

  describe('SQS server', () => {
    const sqs = createSqsClient({ AWS_REGION: env.AWS_REGION!, SQS_ENDPOINT: env.SQS_ENDPOINT });
    const suffix = randomUUID().slice(0, 8);
    const created: string[] = [];
    afterAll(async () => {
      await Promise.all(created.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
      sqs.destroy();
    });

    it('has the cyphr queues, with redrive to the DLQ', async () => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: env.SQS_MESSAGES_QUEUE_URL, AttributeNames: ['RedrivePolicy'] }),
      );
      expect(JSON.parse(Attributes!.RedrivePolicy!)).toMatchObject({
        maxReceiveCount: 5,
        deadLetterTargetArn: expect.stringContaining('cyphr-messages-dlq.fifo'),
      });
    });

    it('moves a message that is never deleted into the DLQ after maxReceiveCount receives', async () => {
      const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `harness-dlq-${suffix}` }));
      created.push(dlq.QueueUrl!);
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      const source = await sqs.send(
        new CreateQueueCommand({
          QueueName: `harness-src-${suffix}`,
          Attributes: {
            VisibilityTimeout: '1',
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 2 }),
          },
        }),
      );
      created.push(source.QueueUrl!);
      const body = JSON.stringify({ probe: suffix });
      await sqs.send(new SendMessageCommand({ QueueUrl: source.QueueUrl, MessageBody: body }));

      let receives = 0;
      const deadLettered = await eventually(async () => {
        const fromSource = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: source.QueueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 1 }),
        );
        receives += fromSource.Messages?.length ?? 0;
        const fromDlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.QueueUrl, WaitTimeSeconds: 0 }));
        return fromDlq.Messages?.[0];
      }, 20_000);
      expect(deadLettered.Body).toBe(body);
      expect(receives).toBe(2);
    });
  });
});
