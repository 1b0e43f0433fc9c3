import { Message } from '@aws-sdk/client-sqs';
import { DeviceMessageQueueBodyV1, MessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { DeviceMessageDelivery } from '../mailbox/device-message-delivery';
import { DeviceMessageStore, DeviceStoreResult } from '../mailbox/device-message-store';
import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { DeadLetterSender } from '../queue/dead-letter';
import { Fanout, FanoutItem } from './fanout';
import { MessageBatchHandler } from './message-batch-handler';
import { MessageStore, StoreResult } from './message-store';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const body = (n: number, conversationId = uuid(900)): MessageQueueBodyV1 => ({
  v: 1,
  id: uuid(n),
  conversationId,
  senderId: uuid(800),
  clientMessageId: uuid(100 + n),
  ciphertext: 'AAAA',
  sentAt: '2026-01-01T00:00:00.000Z',
  memberIds: [uuid(800), uuid(801)],
});
const sqsMessage = (id: string, text: string, receives = 1): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: text,
  Attributes: { ApproximateReceiveCount: String(receives), SentTimestamp: String(Date.now() - 1000) },
});
const view = (b: MessageQueueBodyV1) => ({
  id: b.id,
  seq: '1',
  conversationId: b.conversationId,
  senderId: b.senderId,
  senderDeviceId: b.senderDeviceId ?? 1,
  clientMessageId: b.clientMessageId,
  ciphertext: b.ciphertext,
  sentAt: b.sentAt,
  storedAt: b.sentAt,
});

function setup(options: {
  store: (bodies: MessageQueueBodyV1[]) => StoreResult[];
  queued?: (items: FanoutItem[]) => boolean[];
  dlqAccepts?: boolean;
  maxReceiveCount?: number;
  deviceStore?: (bodies: DeviceMessageQueueBodyV1[]) => DeviceStoreResult[];
}) {
  const rejected: Array<{ id?: string; reason: string }> = [];
  const fannedOut: FanoutItem[][] = [];
  const published: Array<[channel: string, message: string]> = [];
  const events: string[] = [];
  const metrics = new WorkerMetrics({ defaultMetrics: false });
  const logger = createLogger('silent');
  const deviceStore = {
    storeBatch: async (bodies: DeviceMessageQueueBodyV1[]) =>
      (options.deviceStore ?? ((all) => all.map(() => ({ status: 'stored' }) as const)))(bodies),
  } as unknown as DeviceMessageStore;
  const redis = { publish: async (channel: string, message: string) => published.push([channel, message]) };
  const handler = new MessageBatchHandler({
    store: {
      storeBatch: async (bodies: MessageQueueBodyV1[]) => {
        events.push('store');
        await new Promise((resolve) => setImmediate(resolve));
        events.push('stored');
        return options.store(bodies);
      },
    } as unknown as MessageStore,
    fanout: {
      lookup: async () => {
        events.push('lookup');
        return { registered: [], online: new Map() };
      },
      deliver: async (items: FanoutItem[]) => {
        fannedOut.push(items);
        return options.queued ? options.queued(items) : items.map(() => true);
      },
    } as unknown as Fanout,
    deviceMessages: new DeviceMessageDelivery(deviceStore, redis, metrics, logger),
    deadLetters: {
      maxReceiveCount: options.maxReceiveCount ?? 5,
      reject: async (message: Message, reason: string) => {
        rejected.push({ id: message.MessageId, reason });
        return options.dlqAccepts ?? true;
      },
    } as unknown as DeadLetterSender,
    metrics,
    logger,
    retryBaseSeconds: 2,
    visibilityTimeoutSeconds: 30,
  });
  return { handler, rejected, fannedOut, published, metrics, events };
}

const ids = (messages: Message[]) => messages.map((message) => message.MessageId);

describe('MessageBatchHandler', () => {
  it('reads who may need a push while the batch is being stored, once per batch', async () => {
    const [a, b] = [body(1), body(2)];
    const { handler, events } = setup({
      store: (bodies) => bodies.map((stored) => ({ status: 'stored', message: view(stored) })),
    });
    await handler.handle([sqsMessage('s1', JSON.stringify(a)), sqsMessage('s2', JSON.stringify(b))]);
    expect(events).toEqual(['lookup', 'store', 'stored']);
  });

  it('acknowledges stored and duplicate messages after fan-out, duplicates included in the fan-out', async () => {
    const [a, b] = [body(1), body(2)];
    const { handler, fannedOut, metrics } = setup({
      store: () => [
        { status: 'stored', message: view(a) },
        { status: 'duplicate', message: view(b) },
      ],
    });
    const outcome = await handler.handle([sqsMessage('s1', JSON.stringify(a)), sqsMessage('s2', JSON.stringify(b))]);
    expect(ids(outcome.ack)).toEqual(['s1', 's2']);
    expect(outcome.retry).toEqual([]);
    expect(fannedOut[0].map((item) => item.message.id)).toEqual([a.id, b.id]);
    expect(fannedOut[0][0].memberIds).toEqual(a.memberIds);
    expect((await metrics.stored.get()).values[0].value).toBe(1);
    expect((await metrics.duplicates.get()).values[0].value).toBe(1);
    expect((await metrics.messageAge.get()).values.find((value) => value.metricName?.endsWith('_count'))?.value).toBe(
      1,
    );
  });

  it('sends malformed bodies to the DLQ and acknowledges them; the valid rest is stored', async () => {
    const a = body(1);
    const { handler, rejected } = setup({
      store: (bodies) => bodies.map((b) => ({ status: 'stored', message: view(b) })),
    });
    const outcome = await handler.handle([
      sqsMessage('bad', '{oops'),
      sqsMessage('s1', JSON.stringify(a)),
      sqsMessage('v9', JSON.stringify({ ...a, v: 9 })),
    ]);
    expect(ids(outcome.ack).sort()).toEqual(['bad', 's1', 'v9']);
    expect(rejected).toEqual([
      { id: 'bad', reason: 'body is not valid JSON' },
      { id: 'v9', reason: 'unknown body version 9' },
    ]);
  });

  it('leaves a malformed body for the redrive policy when the DLQ cannot take it', async () => {
    const { handler } = setup({ store: () => [], dlqAccepts: false });
    const outcome = await handler.handle([sqsMessage('bad', 'nope')]);
    expect(outcome).toEqual({
      ack: [],
      retry: [{ message: expect.objectContaining({ MessageId: 'bad' }), delaySeconds: 30 }],
    });
  });

  it('retries a failed message alone: backoff for data errors, full visibility for outages', async () => {
    const [a, b, c] = [body(1), body(2), body(3)];
    const { handler } = setup({
      store: () => [
        { status: 'stored', message: view(a) },
        { status: 'failed', error: new Error('fk'), permanent: true },
        { status: 'failed', error: new Error('down'), permanent: false },
      ],
    });
    const outcome = await handler.handle([
      sqsMessage('s1', JSON.stringify(a)),
      sqsMessage('s2', JSON.stringify(b), 3),
      sqsMessage('s3', JSON.stringify(c)),
    ]);
    expect(ids(outcome.ack)).toEqual(['s1']);
    expect(outcome.retry.map(({ message, delaySeconds }) => [message.MessageId, delaySeconds])).toEqual([
      ['s2', 8],
      ['s3', 30],
    ]);
  });

  it('hands messages the unreachable primary could not store to the pool, counting no failure against them', async () => {
    const [a, b] = [body(1), body(2)];
    const down = new Error('connect ECONNREFUSED');
    const { handler, metrics, rejected } = setup({
      store: () => [
        { status: 'failed', error: down, permanent: false, unavailable: true },
        { status: 'failed', error: down, permanent: false, unavailable: true },
      ],
      maxReceiveCount: 1,
    });
    const outcome = await handler.handle([
      sqsMessage('bad', '{oops'),
      sqsMessage('s1', JSON.stringify(a)),
      sqsMessage('s2', JSON.stringify(b)),
    ]);
    expect(ids(outcome.ack)).toEqual(['bad']);
    expect(outcome.retry).toEqual([]);
    expect(outcome.unavailable).toEqual({
      messages: [expect.objectContaining({ MessageId: 's1' }), expect.objectContaining({ MessageId: 's2' })],
      error: down,
    });
    expect(rejected.map((r) => r.id)).toEqual(['bad']);
    expect((await metrics.failed.get()).values).toEqual([]);
    expect((await metrics.deadLettered.get()).values).toEqual([
      expect.objectContaining({ labels: { queue: 'messages', kind: 'rejected' } }),
    ]);
  });

  it('moves a message failing on its last allowed receive to the DLQ itself and counts it dead-lettered', async () => {
    const a = body(1);
    const { handler, metrics, rejected } = setup({
      store: () => [{ status: 'failed', error: new Error('fk'), permanent: true }],
      maxReceiveCount: 3,
    });
    const outcome = await handler.handle([sqsMessage('s1', JSON.stringify(a), 3)]);
    expect(ids(outcome.ack)).toEqual(['s1']);
    expect(rejected).toEqual([{ id: 's1', reason: 'failed on its last allowed receive: fk' }]);
    expect((await metrics.deadLettered.get()).values).toEqual([
      expect.objectContaining({ labels: { queue: 'messages', kind: 'exhausted' }, value: 1 }),
    ]);
  });

  it('leaves an exhausted message to the redrive policy when the DLQ cannot take it', async () => {
    const { handler } = setup({
      store: () => [{ status: 'failed', error: new Error('fk'), permanent: true }],
      maxReceiveCount: 3,
      dlqAccepts: false,
    });
    const outcome = await handler.handle([sqsMessage('s1', JSON.stringify(body(1)), 3)]);
    expect(outcome.ack).toEqual([]);
    expect(outcome.retry.map(({ message }) => message.MessageId)).toEqual(['s1']);
  });

  it('keeps conversation order: what follows a failed message is handed back at once, the other conversation proceeds', async () => {
    const [head, next, elsewhere] = [body(1), body(2), body(3, uuid(901))];
    const { handler, metrics } = setup({
      store: () => [
        { status: 'failed', error: new Error('fk'), permanent: true },
        { status: 'blocked' },
        { status: 'stored', message: view(elsewhere) },
      ],
    });
    const outcome = await handler.handle([
      sqsMessage('head', JSON.stringify(head)),
      sqsMessage('next', JSON.stringify(next)),
      sqsMessage('elsewhere', JSON.stringify(elsewhere)),
    ]);
    expect(ids(outcome.ack)).toEqual(['elsewhere']);
    expect(outcome.retry.map(({ message, delaySeconds }) => [message.MessageId, delaySeconds])).toEqual([
      ['head', 2],
      ['next', 0],
    ]);
    expect((await metrics.failed.get()).values).toEqual(
      expect.arrayContaining([expect.objectContaining({ labels: { queue: 'messages', reason: 'blocked' }, value: 1 })]),
    );
  });

  it('stores what waited behind a message once that one is dead-lettered, in the same batch', async () => {
    const [head, next, last] = [body(1), body(2), body(3)];
    const rounds: string[][] = [];
    const { handler, rejected } = setup({
      store: (bodies) => {
        rounds.push(bodies.map((b) => b.id));
        if (rounds.length === 1)
          return [
            { status: 'failed', error: new Error('fk'), permanent: true },
            { status: 'blocked' },
            { status: 'blocked' },
          ];
        return bodies.map((b) => ({ status: 'stored', message: view(b) }));
      },
      maxReceiveCount: 3,
    });
    const outcome = await handler.handle([
      sqsMessage('head', JSON.stringify(head), 3),
      sqsMessage('next', JSON.stringify(next), 3),
      sqsMessage('last', JSON.stringify(last), 3),
    ]);
    expect(rounds).toEqual([
      [head.id, next.id, last.id],
      [next.id, last.id],
    ]);
    expect(rejected.map((r) => r.id)).toEqual(['head']);
    expect(ids(outcome.ack)).toEqual(['head', 'next', 'last']);
    expect(outcome.retry).toEqual([]);
  });

  it('holds back a conversation behind a malformed message that could not be moved to the DLQ', async () => {
    const group = (message: Message) => ({
      ...message,
      Attributes: { ...message.Attributes, MessageGroupId: uuid(900) },
    });
    const a = body(1);
    const { handler } = setup({ store: () => [], dlqAccepts: false });
    const outcome = await handler.handle([
      group(sqsMessage('bad', '{oops')),
      group(sqsMessage('s1', JSON.stringify(a))),
    ]);
    expect(outcome.ack).toEqual([]);
    expect(outcome.retry.map(({ message, delaySeconds }) => [message.MessageId, delaySeconds])).toEqual([
      ['bad', 30],
      ['s1', 0],
    ]);
  });

  it('does not acknowledge a stored message whose notifications could not be queued', async () => {
    const [a, b] = [body(1), body(2)];
    const { handler } = setup({
      store: (bodies) => bodies.map((x) => ({ status: 'stored', message: view(x) })),
      queued: () => [true, false],
    });
    const outcome = await handler.handle([sqsMessage('s1', JSON.stringify(a)), sqsMessage('s2', JSON.stringify(b))]);
    expect(ids(outcome.ack)).toEqual(['s1']);
    expect(outcome.retry.map(({ message }) => message.MessageId)).toEqual(['s2']);
  });
});

const deviceBody = (n: number, deviceId = 2): DeviceMessageQueueBodyV1 => ({
  v: 1,
  kind: 'device-message',
  id: uuid(n),
  userId: uuid(801),
  deviceId,
  senderId: uuid(800),
  senderDeviceId: 1,
  ciphertext: 'AAAA',
  sentAt: '2026-01-01T00:00:00.000Z',
});

describe('MessageBatchHandler: device messages on the same queue', () => {
  it('routes each body by kind: conversation messages fanned out, device messages pushed to their device only', async () => {
    const [message, device] = [body(1), deviceBody(2, 3)];
    const stored: string[][] = [];
    const { handler, fannedOut, published, metrics } = setup({
      store: (bodies) => bodies.map((b) => ({ status: 'stored', message: view(b) })),
      deviceStore: (bodies) => {
        stored.push(bodies.map((b) => b.id));
        return bodies.map(() => ({ status: 'stored' }));
      },
    });
    const outcome = await handler.handle([
      sqsMessage('m', JSON.stringify(message)),
      sqsMessage('d', JSON.stringify(device)),
    ]);
    expect(ids(outcome.ack).sort()).toEqual(['d', 'm']);
    expect(fannedOut[0].map((item) => item.message.id)).toEqual([message.id]);
    expect(stored).toEqual([[device.id]]);
    expect(published).toEqual([
      [
        `events:user:${device.userId}`,
        `@3 ${JSON.stringify({
          type: 'device-message',
          id: device.id,
          senderId: device.senderId,
          senderDeviceId: 1,
          ciphertext: 'AAAA',
          sentAt: device.sentAt,
        })}`,
      ],
    ]);
    expect((await metrics.deviceMessages.get()).values).toEqual([
      expect.objectContaining({ labels: { outcome: 'stored' }, value: 1 }),
    ]);
  });

  it('pushes a redelivered device message again and acknowledges it', async () => {
    const { handler, published, metrics } = setup({ store: () => [], deviceStore: () => [{ status: 'duplicate' }] });
    const outcome = await handler.handle([sqsMessage('d', JSON.stringify(deviceBody(1)))]);
    expect(ids(outcome.ack)).toEqual(['d']);
    expect(published).toHaveLength(1);
    expect((await metrics.deviceMessages.get()).values).toEqual([
      expect.objectContaining({ labels: { outcome: 'duplicate' }, value: 1 }),
    ]);
  });

  it('drops what can never be delivered (device gone, a constraint of its own) without holding up the batch', async () => {
    const { handler, published, metrics, rejected } = setup({
      store: () => [],
      deviceStore: () => [
        { status: 'gone' },
        { status: 'failed', error: new Error('foreign key'), permanent: true },
        { status: 'stored' },
      ],
    });
    const outcome = await handler.handle([
      sqsMessage('gone', JSON.stringify(deviceBody(1))),
      sqsMessage('fk', JSON.stringify(deviceBody(2))),
      sqsMessage('ok', JSON.stringify(deviceBody(3))),
    ]);
    expect(ids(outcome.ack)).toEqual(['gone', 'fk', 'ok']);
    expect(outcome.retry).toEqual([]);
    expect(rejected).toEqual([]);
    expect(published).toHaveLength(1);
    expect((await metrics.deviceMessages.get()).values).toEqual(
      expect.arrayContaining([expect.objectContaining({ labels: { outcome: 'dropped' }, value: 2 })]),
    );
  });

  it('retries device messages the store failed on, and holds them while the primary is unreachable', async () => {
    const down = new Error('connect ECONNREFUSED');
    const { handler, published } = setup({
      store: () => [],
      deviceStore: () => [
        { status: 'failed', error: new Error('timeout'), permanent: false },
        { status: 'failed', error: down, permanent: false, unavailable: true },
      ],
    });
    const outcome = await handler.handle([
      sqsMessage('slow', JSON.stringify(deviceBody(1)), 2),
      sqsMessage('down', JSON.stringify(deviceBody(2))),
    ]);
    expect(outcome.ack).toEqual([]);
    expect(outcome.retry.map(({ message }) => message.MessageId)).toEqual(['slow']);
    expect(outcome.unavailable).toEqual({ messages: [expect.objectContaining({ MessageId: 'down' })], error: down });
    expect(published).toEqual([]);
  });

  it('rejects an unknown kind or a malformed device message to the DLQ, naming the problem', async () => {
    const { handler, rejected } = setup({ store: () => [] });
    const outcome = await handler.handle([
      sqsMessage('kind', JSON.stringify({ ...deviceBody(1), kind: 'carrier-pigeon' })),
      sqsMessage('device', JSON.stringify({ ...deviceBody(2), deviceId: 0 })),
    ]);
    expect(ids(outcome.ack)).toEqual(['kind', 'device']);
    expect(rejected).toEqual([
      { id: 'kind', reason: expect.stringMatching(/^unknown body kind "carrier-pigeon"/) },
      { id: 'device', reason: 'deviceId must be a positive integer' },
    ]);
  });

  it('holds back a device mailbox behind a malformed message that could not be moved to the DLQ', async () => {
    const group = (message: Message) => ({
      ...message,
      Attributes: { ...message.Attributes, MessageGroupId: `device:${uuid(801)}:2` },
    });
    const { handler, published } = setup({ store: () => [], dlqAccepts: false });
    const outcome = await handler.handle([
      group(sqsMessage('bad', '{oops')),
      group(sqsMessage('d', JSON.stringify(deviceBody(1)))),
    ]);
    expect(outcome.retry.map(({ message, delaySeconds }) => [message.MessageId, delaySeconds])).toEqual([
      ['bad', 30],
      ['d', 0],
    ]);
    expect(published).toEqual([]);
  });
});
