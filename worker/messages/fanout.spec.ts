import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { MessageView } from '../../common/contracts/realtime-events';
import { RedisChannels, RedisKeys } from '../../common/redis/keys';
import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { Fanout, FanoutRedis } from './fanout';

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

function fakeRedis(online: string[], options: { publishFails?: boolean; presenceFails?: boolean } = {}) {
  const published: Array<[string, string]> = [];
  const redis: FanoutRedis = {
    publish: async (channel, message) => {
      if (options.publishFails) throw new Error('redis down');
      published.push([channel, message]);
      return 1;
    },
    hGetAll: async (key): Promise<Record<string, string>> => {
      if (options.presenceFails) throw new Error('redis down');
      return online.some((userId) => RedisKeys.presence(userId) === key) ? { i1: String(Date.now() + 60_000) } : {};
    },
  };
  return { redis, published };
}

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

const fanout = (redis: FanoutRedis, sqs: SQSClient) =>
  new Fanout(
    redis,
    sqs,
    'http://q/notifications',
    new WorkerMetrics({ defaultMetrics: false }),
    createLogger('silent'),
  );

describe('Fanout', () => {
  it('publishes to every member, sender included, and notifies only offline recipients, without content', async () => {
    const { redis, published } = fakeRedis([bob]);
    const { sqs, sent } = fakeSqs();
    expect(await fanout(redis, sqs).deliver([{ message: view('m1'), memberIds: [alice, bob, carol] }])).toEqual([true]);
    expect(published.map(([channel]) => channel)).toEqual([alice, bob, carol].map(RedisChannels.user));
    expect(JSON.parse(published[0][1])).toEqual({ type: 'message', message: view('m1') });
    expect(sent).toEqual([
      { v: 1, kind: 'message', userId: carol, conversationId: 'conv', messageId: 'm1', createdAt: expect.any(String) },
    ]);
    expect(JSON.stringify(sent)).not.toContain('SECRET');
  });

  it('treats unknown presence as offline and a failed publish as degraded, not failed', async () => {
    const { redis } = fakeRedis([], { publishFails: true, presenceFails: true });
    const { sqs, sent } = fakeSqs();
    expect(await fanout(redis, sqs).deliver([{ message: view('m1'), memberIds: [alice, bob, carol] }])).toEqual([true]);
    expect(sent.map((notification) => notification.userId)).toEqual([bob, carol]);
  });

  it('fails exactly the messages whose notifications could not be queued', async () => {
    const { redis } = fakeRedis([]);
    const { sqs } = fakeSqs(['m2']);
    const items = ['m1', 'm2', 'm3'].map((id) => ({ message: view(id), memberIds: [alice, bob] }));
    expect(await fanout(redis, sqs).deliver(items)).toEqual([true, false, true]);
  });
});
