import { Message } from '@aws-sdk/client-sqs';
import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { DeadLetterSender } from '../queue/dead-letter';
import { NotificationBatchHandler, PushTargetSource } from './notification-batch-handler';
import { PushNotification, PushOutcome, PushProvider } from './push-provider';
import { PushTarget } from './push-targets';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const conversationId = uuid(900);
const notification = (user: number, deviceId?: number) => ({
  v: deviceId === undefined ? 1 : 2,
  kind: 'message',
  userId: uuid(user),
  ...(deviceId === undefined ? {} : { deviceId }),
  conversationId,
  messageId: uuid(500 + user),
  createdAt: '2026-01-01T00:00:00.000Z',
});
const sqsMessage = (id: string, body: unknown): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: typeof body === 'string' ? body : JSON.stringify(body),
  Attributes: { ApproximateReceiveCount: '1' },
});
const target = (user: number, deviceId: number): PushTarget => ({
  userId: uuid(user),
  deviceId,
  provider: 'apns',
  token: `${user}${deviceId}`.padEnd(64, 'a'),
});

class ScriptedProvider implements PushProvider {
  readonly name = 'scripted';
  readonly sent: PushNotification[] = [];
  constructor(private readonly answer: (n: PushNotification) => PushOutcome | Error = () => 'delivered') {}
  async send(n: PushNotification): Promise<PushOutcome> {
    this.sent.push(n);
    const answer = this.answer(n);
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

function handlerWith(provider: PushProvider, registered: PushTarget[], options: { targetsFail?: boolean } = {}) {
  const rejected: string[] = [];
  const forgotten: PushTarget[] = [];
  const queries: string[][] = [];
  const targets: PushTargetSource = {
    of: async (userIds) => {
      queries.push(userIds);
      if (options.targetsFail) throw new Error('primary down');
      return registered.filter((t) => userIds.includes(t.userId));
    },
    forget: async (t) => void forgotten.push(t),
  };
  const handler = new NotificationBatchHandler({
    provider,
    targets,
    deadLetters: {
      maxReceiveCount: 5,
      reject: async (message: Message) => (rejected.push(message.MessageId!), true),
    } as unknown as DeadLetterSender,
    metrics: new WorkerMetrics({ defaultMetrics: false }),
    logger: createLogger('silent'),
    retryBaseSeconds: 2,
    visibilityTimeoutSeconds: 30,
  });
  return { handler, rejected, forgotten, queries };
}

const ids = (messages: Message[]) => messages.map((message) => message.MessageId).sort();

describe('NotificationBatchHandler', () => {
  it('wakes exactly the device a body names, with one registration query per batch', async () => {
    const provider = new ScriptedProvider();
    const { handler, queries } = handlerWith(provider, [target(1, 1), target(1, 2), target(2, 1)]);
    const outcome = await handler.handle([sqsMessage('a', notification(1, 2)), sqsMessage('b', notification(2, 1))]);
    expect(ids(outcome.ack)).toEqual(['a', 'b']);
    expect(queries).toHaveLength(1);
    expect(provider.sent).toEqual([
      { kind: 'wake', provider: 'apns', token: target(1, 2).token, conversationId },
      { kind: 'wake', provider: 'apns', token: target(2, 1).token, conversationId },
    ]);
  });

  it('sends nothing for a device whose token is gone, and wakes every registered device for a v1 (user) body', async () => {
    const provider = new ScriptedProvider();
    const { handler } = handlerWith(provider, [target(1, 1), target(1, 3)]);
    const outcome = await handler.handle([sqsMessage('a', notification(1, 2)), sqsMessage('b', notification(1))]);
    expect(ids(outcome.ack)).toEqual(['a', 'b']);
    expect(provider.sent.map((push) => push.token)).toEqual([target(1, 1).token, target(1, 3).token]);
  });

  it('acknowledges delivered and dropped, retries failures, dead-letters malformed, forgets dead tokens', async () => {
    const provider = new ScriptedProvider((n) =>
      n.token === target(2, 1).token
        ? 'dropped'
        : n.token === target(3, 1).token
          ? new Error('gateway down')
          : n.token === target(4, 1).token
            ? 'token-invalid'
            : 'delivered',
    );
    const registered = [1, 2, 3, 4].map((user) => target(user, 1));
    const { handler, rejected, forgotten } = handlerWith(provider, registered);
    const outcome = await handler.handle([
      sqsMessage('a', notification(1, 1)),
      sqsMessage('b', notification(2, 1)),
      sqsMessage('c', notification(3, 1)),
      sqsMessage('d', { ...notification(5, 1), kind: 'typing' }),
      sqsMessage('e', notification(4, 1)),
      sqsMessage('f', { ...notification(6, 1), v: 9 }),
    ]);
    expect(ids(outcome.ack)).toEqual(['a', 'b', 'd', 'e', 'f']);
    expect(outcome.retry).toEqual([{ message: expect.objectContaining({ MessageId: 'c' }), delaySeconds: 2 }]);
    expect(rejected.sort()).toEqual(['d', 'f']);
    expect(forgotten).toEqual([target(4, 1)]);
  });

  it('retries the whole batch when the registrations cannot be read', async () => {
    const provider = new ScriptedProvider();
    const { handler } = handlerWith(provider, [], { targetsFail: true });
    const outcome = await handler.handle([sqsMessage('a', notification(1, 1))]);
    expect(outcome.ack).toEqual([]);
    expect(outcome.retry).toHaveLength(1);
    expect(provider.sent).toEqual([]);
  });

  it('puts only the wake-up fields into a push, whatever else the body carries', async () => {
    const provider = new ScriptedProvider();
    const { handler } = handlerWith(provider, [target(1, 1)]);
    await handler.handle([
      sqsMessage('a', { ...notification(1, 1), senderId: uuid(7), ciphertext: 'SECRET', preview: 'hello' }),
    ]);
    expect(provider.sent).toEqual([{ kind: 'wake', provider: 'apns', token: target(1, 1).token, conversationId }]);
  });
});
