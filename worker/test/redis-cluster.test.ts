import { SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RealtimeEvent } from '../../common/contracts/realtime-events';
import { redisSettings } from '../../common/redis/client';
import { createRedisConnection, RedisConnection } from '../../common/redis/connection';
import { RedisChannels, RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { RedisClusterHandle, startRedisCluster } from '../../scripts/testing/redis-cluster';
import { createLogger } from '../observability/logger';
import { createWorker, Worker } from '../worker';
import {
  addDevice,
  createConversation,
  createTestQueues,
  eventually,
  messageBody,
  openDatabase,
  queueEnv,
  RecordingPushProvider,
  testPushToken,
  sendBodies,
  TestQueues,
  testSqs,
  workerEnv,
} from './helpers';

jest.setTimeout(60_000);

const AUTH_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:cyphr-test-redis-auth';

/**
 * The large tier's worker: fan-out (sharded publish to every member's channel) and presence-based
 * notifications against a real 3-master Redis Cluster (REDIS_CLUSTER=true), with the password passed as
 * the ElastiCache auth token is on AWS (REDIS_AUTH_SECRET_ARN, read through the secret reader).
 */
describe('worker on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let sqs: SQSClient;
  let db: DataSource;
  let queues: TestQueues;
  let worker: Worker;
  let redis: RedisConnection;
  let subscriber: RedisConnection;
  const pushes = new RecordingPushProvider();

  beforeAll(async () => {
    const password = `pw-${randomUUID()}`;
    cluster = await startRedisCluster({ password });
    sqs = testSqs();
    db = await openDatabase();
    queues = await createTestQueues(sqs, { visibilityTimeout: 5, maxReceiveCount: 3 });
    const env = workerEnv(
      queueEnv(queues, {
        REDIS_URL: cluster.urlWithoutPassword,
        REDIS_CLUSTER: 'true',
        REDIS_AUTH_SECRET_ARN: AUTH_SECRET_ARN,
      }),
    );
    const secretReader = async (arn: string) => {
      if (arn !== AUTH_SECRET_ARN) throw new Error(`unexpected secret ${arn}`);
      return password;
    };
    worker = await createWorker(env, createLogger('silent'), { pushProvider: pushes, secretReader });
    worker.start();
    redis = createRedisConnection(redisSettings(env, { redisAuthToken: password }, 'worker-cluster-test'));
    await redis.connect();
    subscriber = redis.duplicate('subscriber');
    await subscriber.connect();
  });

  afterAll(async () => {
    await worker?.stop();
    await queues?.remove();
    await subscriber?.close();
    await redis?.close();
    await cluster?.stop();
    await db?.destroy();
    sqs?.destroy();
  });

  it('publishes to every member on their shard and notifies only the offline ones', async () => {
    const group = await createConversation(db, 6);
    const [, online, alsoOnline, stale, ...absent] = group.memberIds; // the first member sends
    // Every recipient's device 1 is registered for push; the sender's sending device never gets its own message.
    const tokens = new Map(group.memberIds.map((userId) => [testPushToken(), userId]));
    for (const [token, userId] of tokens) await addDevice(db, userId, 1, token);
    // Presence as the API writes it (common/redis/presence.ts), in several slots.
    for (const userId of [online, alsoOnline]) {
      await redis
        .transaction(RedisKeys.presence(userId))
        .hSet(`test-instance-${randomUUID()}/1`, String(Date.now() + 60_000))
        .expire(RedisTtlSeconds.presence)
        .exec();
    }
    await redis.hSet(RedisKeys.presence(stale), 'dead-instance/1', String(Date.now() - 1_000)); // a dead instance's field

    const events: Record<string, RealtimeEvent[]> = Object.fromEntries(group.memberIds.map((userId) => [userId, []]));
    for (const userId of group.memberIds) {
      await subscriber.subscribe(RedisChannels.user(userId), (text) =>
        events[userId].push(JSON.parse(text) as RealtimeEvent),
      );
    }
    // The six channels are sharded subscriptions spread over more than one master.
    const holders = new Set<number>();
    for (const port of cluster.ports)
      if ((await cluster.cli(port, 'PUBSUB', 'SHARDCHANNELS', 'events:user:*')).trim()) holders.add(port);
    expect(holders.size).toBeGreaterThan(1);

    try {
      const body = messageBody(group);
      await sendBodies(sqs, queues.messages, [body]);
      await eventually(
        async () => group.memberIds.every((userId) => events[userId].length > 0),
        15_000,
        'an event on every member channel',
      );
      for (const userId of group.memberIds) {
        expect(events[userId]).toEqual([
          expect.objectContaining({
            type: 'message',
            message: expect.objectContaining({ id: body.id, ciphertext: body.ciphertext }),
          }),
        ]);
      }

      const expected = [stale, ...absent].sort();
      const mine = () => pushes.sent.filter((push) => tokens.has(push.token));
      await eventually(async () => mine().length >= expected.length, 15_000, 'pushes');
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for any wrong extra push to show up
      const pushed = mine();
      expect(pushed.map((push) => tokens.get(push.token)).sort()).toEqual(expected);
      expect(JSON.stringify(pushed)).not.toContain(body.ciphertext);

      const published =
        (await worker.metrics.registry.getSingleMetric('cyphr_worker_realtime_published_total')?.get())?.values ?? [];
      expect(published.filter((value) => value.labels.outcome === 'failed')).toEqual([]);
    } finally {
      for (const userId of group.memberIds) await subscriber.unsubscribe(RedisChannels.user(userId));
      await redis.del(group.memberIds.map(RedisKeys.presence));
    }
  });
});
