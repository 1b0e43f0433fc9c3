import { Message } from '@aws-sdk/client-sqs';
import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { DeadLetterSender } from '../queue/dead-letter';
import { NotificationBatchHandler } from './notification-batch-handler';
import { PushNotification, PushOutcome, PushProvider } from './push-provider';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const notification = (n: number) => ({
  v: 1,
  kind: 'message',
  userId: uuid(n),
  conversationId: uuid(900),
  messageId: uuid(500 + n),
  createdAt: '2026-01-01T00:00:00.000Z',
});
const sqsMessage = (id: string, body: string): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: body,
  Attributes: { ApproximateReceiveCount: '1' },
});

class ScriptedProvider implements PushProvider {
  readonly name = 'scripted';
  readonly sent: PushNotification[] = [];
  constructor(private readonly answer: (n: PushNotification) => PushOutcome | Error) {}
  async send(n: PushNotification): Promise<PushOutcome> {
    this.sent.push(n);
    const answer = this.answer(n);
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

function handlerWith(provider: PushProvider) {
  const rejected: string[] = [];
  const handler = new NotificationBatchHandler({
    provider,
    deadLetters: {
      maxReceiveCount: 5,
      reject: async (message: Message) => (rejected.push(message.MessageId!), true),
    } as unknown as DeadLetterSender,
    metrics: new WorkerMetrics({ defaultMetrics: false }),
    logger: createLogger('silent'),
    retryBaseSeconds: 2,
    visibilityTimeoutSeconds: 30,
  });
  return { handler, rejected };
}

describe('NotificationBatchHandler', () => {
  it('pushes each notification on its own: delivered and dropped are acknowledged, failures retried, malformed dead-lettered', async () => {
    const provider = new ScriptedProvider((n) =>
      n.userId === uuid(2) ? 'dropped' : n.userId === uuid(3) ? new Error('gateway down') : 'delivered',
    );
    const { handler, rejected } = handlerWith(provider);
    const outcome = await handler.handle([
      sqsMessage('a', JSON.stringify(notification(1))),
      sqsMessage('b', JSON.stringify(notification(2))),
      sqsMessage('c', JSON.stringify(notification(3))),
      sqsMessage('d', JSON.stringify({ ...notification(4), kind: 'typing' })),
    ]);
    expect(outcome.ack.map((message) => message.MessageId).sort()).toEqual(['a', 'b', 'd']);
    expect(outcome.retry).toEqual([{ message: expect.objectContaining({ MessageId: 'c' }), delaySeconds: 2 }]);
    expect(rejected).toEqual(['d']);
  });

  it('passes only the notification fields to the provider, whatever else the body carries', async () => {
    const provider = new ScriptedProvider(() => 'delivered');
    const { handler } = handlerWith(provider);
    await handler.handle([
      sqsMessage('a', JSON.stringify({ ...notification(1), ciphertext: 'SECRET', preview: 'hello' })),
    ]);
    expect(provider.sent).toEqual([
      {
        kind: 'message',
        userId: uuid(1),
        conversationId: uuid(900),
        messageId: uuid(501),
        createdAt: '2026-01-01T00:00:00.000Z',
      },
    ]);
  });
});
