import { SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RealtimeEvent } from '../../common/contracts/realtime-events';
import { redisSettings } from '../../common/redis/client';
import { createRedisConnection, RedisConnection } from '../../common/redis/connection';
import { RedisChannels, RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { createLogger } from '../observability/logger';
import { CyphrAttributes } from '../queue/attributes';
import { createWorker, Worker } from '../worker';
import {
  Conversation,
  countStored,
  createConversation,
  createTestQueues,
  eventually,
  messageBody,
  openDatabase,
  queueDepth,
  queueEnv,
  receiveAll,
  RecordingPushProvider,
  addDevice,
  testPushToken,
  sendBodies,
  TestQueues,
  testSqs,
  workerEnv,
} from './helpers';

async function metric(worker: Worker, name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await worker.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return found
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0);
}

describe('worker: messages queue → PostgreSQL → Redis → notifications (in process, real services)', () => {
  let sqs: SQSClient;
  let db: DataSource;
  let redis: RedisConnection;
  let queues: TestQueues;
  let worker: Worker;
  let pushes: RecordingPushProvider;
  let conversation: Conversation;

  beforeAll(async () => {
    sqs = testSqs();
    db = await openDatabase();
    redis = createRedisConnection(redisSettings(workerEnv(), {}, 'worker-test'));
    await redis.connect();
    queues = await createTestQueues(sqs, { visibilityTimeout: 5, maxReceiveCount: 3 });
    pushes = new RecordingPushProvider();
    worker = await createWorker(workerEnv(queueEnv(queues)), createLogger('silent'), { pushProvider: pushes });
    worker.start();
    conversation = await createConversation(db, 2);
  });

  afterAll(async () => {
    await worker?.stop();
    await queues?.remove();
    await redis?.close();
    await db?.destroy();
    sqs?.destroy();
  });

  it('stores a batch and deletes exactly what it stored', async () => {
    const bodies = Array.from({ length: 25 }, () => messageBody(conversation));
    await sendBodies(sqs, queues.messages, bodies);
    await eventually(async () => (await countStored(db, conversation.id)) >= 25, 20_000, '25 rows');
    await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 10_000, 'empty queue');
    const rows: Array<{ id: string; ciphertext: string }> = await db.query(
      `SELECT id, ciphertext FROM messages WHERE conversation_id = $1`,
      [conversation.id],
    );
    expect(rows.map((row) => row.id).sort()).toEqual(bodies.map((body) => body.id).sort());
    expect(rows.find((row) => row.id === bodies[0].id)?.ciphertext).toBe(bodies[0].ciphertext);
    expect(await metric(worker, 'cyphr_worker_messages_stored_total')).toBeGreaterThanOrEqual(25);
  });

  it('stores a duplicate delivery once', async () => {
    const other = await createConversation(db, 2);
    const body = messageBody(other);
    await sendBodies(sqs, queues.messages, [body, body, body]);
    await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 15_000, 'empty queue');
    await sendBodies(sqs, queues.messages, [body]); // a late redelivery, after the first copy is long stored
    await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 15_000, 'empty queue');
    expect(await countStored(db, other.id)).toBe(1);
    expect(await metric(worker, 'cyphr_worker_messages_duplicate_total')).toBeGreaterThanOrEqual(3);
  });

  it('isolates a poison message: the rest of its batch is stored, it alone ends in the DLQ after maxReceiveCount', async () => {
    const other = await createConversation(db, 2);
    const good = Array.from({ length: 6 }, () => messageBody(other));
    // A conversation that does not exist: a foreign-key violation on every attempt.
    const poison = messageBody(other, { conversationId: randomUUID() });
    await sendBodies(sqs, queues.messages, [...good.slice(0, 3), poison, ...good.slice(3)]);
    await eventually(async () => (await countStored(db, other.id)) === 6, 15_000, 'good messages stored');
    const dead = await eventually(
      async () => {
        const messages = await receiveAll(sqs, queues.dlq);
        return messages.length > 0 ? messages : undefined;
      },
      40_000,
      'poison message in the DLQ',
    );
    expect(dead.map((message) => JSON.parse(message.Body!).id)).toEqual([poison.id]);
    // Moved by the worker on its last allowed receive, with the error as the reason.
    expect(dead[0].MessageAttributes?.[CyphrAttributes.rejectReason]?.StringValue).toMatch(
      /^failed on its last allowed receive: .*foreign key/,
    );
    expect(await queueDepth(sqs, queues.messages)).toBe(0);
  }, 60_000);

  it('keeps conversation order around a poison message: the ones after it wait, then are stored in send order', async () => {
    const other = await createConversation(db, 2);
    const before = messageBody(other);
    // A sender that does not exist: a foreign-key violation on every attempt, in a conversation that exists.
    const poison = messageBody(other, { senderId: randomUUID() });
    const after = Array.from({ length: 4 }, () => messageBody(other));
    await sendBodies(sqs, queues.messages, [before, poison, ...after]);
    await eventually(async () => (await countStored(db, other.id)) === 5, 40_000, 'the five good messages stored');
    const rows: Array<{ id: string }> = await db.query(
      `SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq`,
      [other.id],
    );
    expect(rows.map((row) => row.id)).toEqual([before, ...after].map((body) => body.id));
    const dead = await receiveAll(sqs, queues.dlq);
    expect(dead.map((message) => JSON.parse(message.Body!).id)).toEqual([poison.id]);
    expect(await queueDepth(sqs, queues.messages)).toBe(0);
  }, 60_000);

  it('sends malformed bodies straight to the DLQ with the reason, without holding up the batch', async () => {
    const other = await createConversation(db, 2);
    const good = messageBody(other);
    const badBodies = [
      'not json {',
      JSON.stringify({ ...messageBody(other), v: 2 }),
      JSON.stringify({ v: 1, id: randomUUID() }),
    ];
    await sendBodies(sqs, queues.messages, [badBodies[0], good, badBodies[1], badBodies[2]]);
    await eventually(async () => (await countStored(db, other.id)) === 1, 10_000, 'good message stored');
    const dead = await eventually(
      async () => {
        const messages = await receiveAll(sqs, queues.dlq);
        return messages.length >= 3 ? messages : undefined;
      },
      10_000,
      'three rejects in the DLQ',
    );
    const reasons = Object.fromEntries(
      dead.map((message) => [message.Body, message.MessageAttributes?.[CyphrAttributes.rejectReason]?.StringValue]),
    );
    expect(reasons[badBodies[0]]).toBe('body is not valid JSON');
    expect(reasons[badBodies[1]]).toBe('unknown body version 2');
    expect(reasons[badBodies[2]]).toMatch(/conversationId must be a uuid/);
    expect(dead[0].MessageAttributes?.[CyphrAttributes.sourceQueue]?.StringValue).toBe(queues.messages);
    // Moved on the first receive, not after maxReceiveCount.
    expect(dead.every((message) => message.Attributes?.ApproximateReceiveCount === '1')).toBe(true);
    expect(await queueDepth(sqs, queues.messages)).toBe(0);
  });

  it('publishes to every member and wakes only registered devices without a socket, never with content', async () => {
    const group = await createConversation(db, 3);
    const [sender, online, offline] = group.memberIds;
    const token = Object.fromEntries(
      ['senderOther', 'onlinePhone', 'onlineTablet', 'offlinePhone'].map((name) => [name, testPushToken()]),
    );
    await addDevice(db, sender, 1, testPushToken()); // sends: never woken by its own message
    await addDevice(db, sender, 2, token.senderOther);
    await addDevice(db, online, 1, token.onlinePhone);
    await addDevice(db, online, 2, token.onlineTablet);
    await addDevice(db, offline, 1, token.offlinePhone);
    await addDevice(db, offline, 2); // no push token
    // Presence as the API writes it (common/redis/presence.ts): `<instance>/<device>` → deadline in epoch ms.
    await redis.hSet(RedisKeys.presence(online), `test-instance-${randomUUID()}/1`, String(Date.now() + 60_000));
    await redis.expire(RedisKeys.presence(online), RedisTtlSeconds.presence);
    // A stale field of a dead instance does not count.
    await redis.hSet(RedisKeys.presence(offline), 'dead-instance/1', String(Date.now() - 1_000));

    const subscriber = redis.duplicate('subscriber');
    await subscriber.connect();
    const events: Record<string, RealtimeEvent[]> = { [sender]: [], [online]: [], [offline]: [] };
    for (const userId of group.memberIds) {
      await subscriber.subscribe(RedisChannels.user(userId), (text) =>
        events[userId].push(JSON.parse(text) as RealtimeEvent),
      );
    }
    try {
      const body = messageBody(group, { senderDeviceId: 1 });
      await sendBodies(sqs, queues.messages, [body]);
      await eventually(
        async () => group.memberIds.every((userId) => events[userId].length > 0),
        10_000,
        'events on every member channel',
      );
      const event = events[online][0];
      expect(event).toMatchObject({
        type: 'message',
        message: { id: body.id, conversationId: group.id, senderId: sender, ciphertext: body.ciphertext },
      });
      expect(event.type === 'message' && Number(event.message.seq)).toBeGreaterThan(0);

      const mine = () => pushes.sent.filter((push) => Object.values(token).includes(push.token));
      await eventually(async () => mine().length >= 3, 10_000, 'three pushes');
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // room for any wrong extra push to show up
      const wake = (t: string) => ({ kind: 'wake', provider: 'webhook', token: t, conversationId: group.id });
      expect(mine().sort((a, b) => a.token.localeCompare(b.token))).toEqual(
        [token.senderOther, token.onlineTablet, token.offlinePhone].sort().map(wake),
      );
      expect(JSON.stringify(mine())).not.toContain(body.ciphertext);
      expect(JSON.stringify(mine())).not.toContain(sender);
    } finally {
      await subscriber.close();
      await redis.del([RedisKeys.presence(online), RedisKeys.presence(offline)]);
    }
  });

  it('exports its metrics', async () => {
    const text = await worker.metrics.registry.metrics();
    for (const name of [
      'cyphr_worker_messages_received_total',
      'cyphr_worker_messages_stored_total',
      'cyphr_worker_messages_duplicate_total',
      'cyphr_worker_messages_failed_total',
      'cyphr_worker_messages_dead_lettered_total',
      'cyphr_worker_batch_duration_seconds',
      'cyphr_worker_message_age_seconds',
    ]) {
      expect(text).toContain(name);
    }
    expect(
      await metric(worker, 'cyphr_worker_messages_dead_lettered_total', { kind: 'rejected' }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      await metric(worker, 'cyphr_worker_messages_dead_lettered_total', { kind: 'exhausted' }),
    ).toBeGreaterThanOrEqual(1);
  });
});
