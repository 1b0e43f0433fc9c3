import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { MessageView } from '../../common/contracts/realtime-events';
import { RedisChannels, RedisKeys } from '../../common/redis/keys';
import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import type { PushTarget } from '../notifications/push-targets';
import { Fanout, FanoutRedis, PushDevices } from './fanout';

const [alice, bob, carol] = [
  '00000000-0000-4000-8000-00000000000a',
  '00000000-0000-4000-8000-00000000000b',
  '00000000-0000-4000-8000-00000000000c',
];
const view = (id: string): MessageView => ({
  id,
  seq: '1',
  conversationId: 'conv',
  senderId: alice,
  senderDeviceId: 1,
  clientMessageId: 'c',
  ciphertext: 'SECRET',
  sentAt: 't',
  storedAt: 't',
});

/** Presence as the API writes it: `<instanceId>/<deviceId>` → deadline. */
function fakeRedis(online: Array<[string, number]>, options: { publishFails?: boolean; presenceFails?: boolean } = {}) {
  const published: Array<[string, string]> = [];
  const redis: FanoutRedis = {
    publish: async (channel, message) => {
      if (options.publishFails) throw new Error('redis down');
      published.push([channel, message]);
      return 1;
    },
    hGetAll: async (key): Promise<Record<string, string>> => {
      if (options.presenceFails) throw new Error('redis down');
      return Object.fromEntries(
        online
          .filter(([userId]) => RedisKeys.presence(userId) === key)
          .map(([, deviceId]) => [`i1/${deviceId}`, String(Date.now() + 60_000)]),
      );
    },
  };
  return { redis, published };
}

const target = (userId: string, deviceId: number): PushTarget => ({
  userId,
  deviceId,
  provider: 'fcm',
  token: `token-${userId.slice(-1)}-${deviceId}-0123456789abcdefghijklmnop`,
});
/** Alice sends from device 1 and has device 2; Bob has devices 1 and 2; Carol has no push at all. */
const registered = [target(alice, 1), target(alice, 2), target(bob, 1), target(bob, 2)];
const pushDevices = (targets = registered, fails = false): PushDevices => ({
  of: async (userIds) => {
    if (fails) throw new Error('primary down');
    return targets.filter((t) => userIds.includes(t.userId));
  },
});

function fakeSqs(failIds: string[] = []) {
  const sent: Array<Record<string, unknown>> = [];
  const sqs = {
    send: async (command: SendMessageBatchCommand) => {
      const entries = command.input.Entries ?? [];
      sent.push(...entries.map((entry) => JSON.parse(entry.MessageBody!)));
      return {
        Successful: [],
        Failed: entries
          .filter((entry) => failIds.includes(JSON.parse(entry.MessageBody!).messageId))
          .map((entry) => ({ Id: entry.Id, Code: 'x', SenderFault: false })),
      };
    },
  } as unknown as SQSClient;
  return { sqs, sent };
}

const fanout = (redis: FanoutRedis, sqs: SQSClient, devices = pushDevices()) =>
  new Fanout(
    redis,
    devices,
    sqs,
    'http://q/notifications',
    new WorkerMetrics({ defaultMetrics: false }),
    createLogger('silent'),
  );

const devicesOf = (sent: Array<Record<string, unknown>>) => sent.map((body) => `${body.userId}/${body.deviceId}`);

describe('Fanout', () => {
  it('publishes to every member and queues one notification per registered device without a socket, no content', async () => {
    const { redis, published } = fakeRedis([[bob, 1]]);
    const { sqs, sent } = fakeSqs();
    expect(await fanout(redis, sqs).deliver([{ message: view('m1'), memberIds: [alice, bob, carol] }])).toEqual([true]);
    expect(published.map(([channel]) => channel)).toEqual([alice, bob, carol].map(RedisChannels.user));
    expect(JSON.parse(published[0][1])).toEqual({ type: 'message', message: view('m1') });
    // Alice's sending device 1 is skipped, her device 2 is woken; Bob's device 1 has a socket.
    expect(sent).toEqual([
      {
        v: 2,
        kind: 'message',
        userId: alice,
        deviceId: 2,
        conversationId: 'conv',
        messageId: 'm1',
        createdAt: expect.any(String),
      },
      {
        v: 2,
        kind: 'message',
        userId: bob,
        deviceId: 2,
        conversationId: 'conv',
        messageId: 'm1',
        createdAt: expect.any(String),
      },
    ]);
    expect(JSON.stringify(sent)).not.toContain('SECRET');
    expect(JSON.stringify(sent)).not.toContain('token-');
  });

  it('queues nothing and reads no presence when no member has a push token', async () => {
    const { redis } = fakeRedis([], { presenceFails: true });
    const { sqs, sent } = fakeSqs();
    expect(
      await fanout(redis, sqs, pushDevices([])).deliver([{ message: view('m1'), memberIds: [alice, carol] }]),
    ).toEqual([true]);
    expect(sent).toEqual([]);
  });

  it('treats unknown presence as offline and a failed publish as degraded, not failed', async () => {
    const { redis } = fakeRedis([], { publishFails: true, presenceFails: true });
    const { sqs, sent } = fakeSqs();
    expect(await fanout(redis, sqs).deliver([{ message: view('m1'), memberIds: [alice, bob, carol] }])).toEqual([true]);
    expect(devicesOf(sent)).toEqual([`${alice}/2`, `${bob}/1`, `${bob}/2`]);
  });

  it('fails the batch when the registrations cannot be read (it is fanned out again)', async () => {
    const { redis } = fakeRedis([]);
    const { sqs } = fakeSqs();
    const items = ['m1', 'm2'].map((id) => ({ message: view(id), memberIds: [alice, bob] }));
    expect(await fanout(redis, sqs, pushDevices(registered, true)).deliver(items)).toEqual([false, false]);
  });

  it('fails exactly the messages whose notifications could not be queued', async () => {
    const { redis } = fakeRedis([]);
    const { sqs } = fakeSqs(['m2']);
    const items = ['m1', 'm2', 'm3'].map((id) => ({ message: view(id), memberIds: [alice, bob] }));
    expect(await fanout(redis, sqs).deliver(items)).toEqual([true, false, true]);
  });

  it('uses a lookup read earlier for a wider batch, waking only the members of what was delivered', async () => {
    const { redis } = fakeRedis([]);
    const { sqs, sent } = fakeSqs();
    const reads: string[][] = [];
    const devices = pushDevices();
    const counting = { of: (userIds: string[]) => (reads.push(userIds), devices.of(userIds)) };
    const service = fanout(redis, sqs, counting);
    // Read before the batch was stored, for a conversation with Carol whose message then failed to store.
    const lookup = service.lookup([alice, bob, alice, carol]);
    expect(await service.deliver([{ message: view('m1'), memberIds: [bob] }], lookup)).toEqual([true]);
    expect(reads).toEqual([[alice, bob, carol]]);
    expect(devicesOf(sent)).toEqual([`${bob}/1`, `${bob}/2`]);
  });
});
