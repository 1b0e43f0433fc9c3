import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createSqsClient } from '../../common/aws/sqs-client';
import { buildDataSourceOptions } from '../../common/config/database-options';
import { validateEnvironment } from '../../common/config/environment';
import { MessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { messageIdFor } from '../../common/contracts/message-id';
import { runMigrations } from '../../common/database/migrate';
import { WorkerSettings } from '../config/worker-environment';
import { eventually as waitUntil } from '../../scripts/testing/waiting';
import type { PushNotification, PushOutcome, PushProvider } from '../notifications/push-provider';

/** Shared by the worker's integration suites: throwaway queues, fixture rows, waiting. */

export function workerEnv(overrides: Record<string, string> = {}): WorkerSettings {
  return validateEnvironment(WorkerSettings, {
    ...process.env,
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...overrides,
  });
}

export function testSqs(): SQSClient {
  return createSqsClient(workerEnv());
}

export interface TestQueues {
  /** FIFO, grouped by conversation, redriving to `dlq`: the stack's shape. */
  messages: string;
  /** FIFO (a FIFO queue's DLQ must be FIFO). */
  dlq: string;
  /** Standard, redriving to `notificationsDlq`. */
  notifications: string;
  notificationsDlq: string;
  /** Deletes the four queues. */
  remove(): Promise<void>;
}

/** High-throughput FIFO, as the stack and the local services create `cyphr-messages.fifo`. */
export const FIFO_QUEUE_ATTRIBUTES = {
  FifoQueue: 'true',
  DeduplicationScope: 'messageGroup',
  FifoThroughputLimit: 'perMessageGroupId',
};

/**
 * Private messages/notifications queues and their DLQs with a short visibility timeout and a small
 * maxReceiveCount. `fifo: false` makes the messages queue standard (a queue that keeps no order).
 */
export async function createTestQueues(
  sqs: SQSClient,
  options: { visibilityTimeout?: number; maxReceiveCount?: number; fifo?: boolean; prefix?: string } = {},
): Promise<TestQueues> {
  const prefix = options.prefix ?? `wt-${randomUUID().slice(0, 8)}`;
  const fifo = options.fifo ?? true;
  const create = async (name: string, attributes: Record<string, string> = {}) =>
    (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
  const redriveTo = async (dlqUrl: string) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    return {
      VisibilityTimeout: String(options.visibilityTimeout ?? 5),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: Attributes!.QueueArn,
        maxReceiveCount: options.maxReceiveCount ?? 3,
      }),
    };
  };
  const dlq = fifo
    ? await create(`${prefix}-messages-dlq.fifo`, FIFO_QUEUE_ATTRIBUTES)
    : await create(`${prefix}-messages-dlq`);
  const messages = fifo
    ? await create(`${prefix}-messages.fifo`, { ...FIFO_QUEUE_ATTRIBUTES, ...(await redriveTo(dlq)) })
    : await create(`${prefix}-messages`, await redriveTo(dlq));
  const notificationsDlq = await create(`${prefix}-dlq`);
  const notifications = await create(`${prefix}-notifications`, await redriveTo(notificationsDlq));
  return {
    messages,
    notifications,
    dlq,
    notificationsDlq,
    remove: async () => {
      await Promise.all(
        [messages, notifications, dlq, notificationsDlq].map((QueueUrl) =>
          sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined),
        ),
      );
    },
  };
}

/**
 * What a send to `queueUrl` needs besides the body: on a FIFO queue the conversation as the group (a body
 * that is not a message gets a group of its own) and a fresh deduplication id, so a test can send the same body
 * twice to stand for a redelivery.
 */
export function fifoFields(
  queueUrl: string,
  body: string,
): { MessageGroupId?: string; MessageDeduplicationId?: string } {
  if (!queueUrl.endsWith('.fifo')) return {};
  let group: unknown;
  try {
    group = (JSON.parse(body) as { conversationId?: unknown }).conversationId;
  } catch {
    group = undefined;
  }
  return { MessageGroupId: typeof group === 'string' ? group : randomUUID(), MessageDeduplicationId: randomUUID() };
}

/** Environment for a worker on the given test queues, tuned for fast tests. */
export function queueEnv(queues: TestQueues, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    SQS_MESSAGES_QUEUE_URL: queues.messages,
    SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications,
    WORKER_WAIT_TIME_SECONDS: '1',
    WORKER_VISIBILITY_TIMEOUT_SECONDS: '5',
    WORKER_RETRY_BASE_SECONDS: '1',
    WORKER_SHUTDOWN_TIMEOUT_MS: '5000',
    WORKER_RECEIVE_LOOPS: '2',
    WORKER_NOTIFICATION_LOOPS: '1',
    ...overrides,
  };
}

export async function openDatabase(): Promise<DataSource> {
  const env = workerEnv();
  const dataSource = new DataSource(
    buildDataSourceOptions(
      { ...env, DATABASE_REPLICA_URLS: undefined },
      {},
      { poolSize: 4, applicationName: 'cyphr-worker-test' },
    ),
  );
  await dataSource.initialize();
  await runMigrations(dataSource);
  return dataSource;
}

export interface Conversation {
  id: string;
  memberIds: string[];
}

/** Users and one conversation with all of them, under unique names (suites share the database). */
export async function createConversation(db: DataSource, members = 2): Promise<Conversation> {
  const memberIds: string[] = [];
  for (let index = 0; index < members; index++) {
    const [row] = await db.query(
      `INSERT INTO users (username, password_hash, identity_key) VALUES ($1, 'x', 'aWs=') RETURNING id`,
      [`wt${randomUUID().replace(/-/g, '').slice(0, 24)}`],
    );
    memberIds.push(row.id);
  }
  const [conversation] = await db.query(`INSERT INTO conversations (created_by) VALUES ($1) RETURNING id`, [
    memberIds[0],
  ]);
  for (const userId of memberIds) {
    await db.query(`INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2)`, [
      conversation.id,
      userId,
    ]);
  }
  return { id: conversation.id, memberIds };
}

export function messageBody(
  conversation: Conversation,
  overrides: Partial<MessageQueueBodyV1> = {},
): MessageQueueBodyV1 {
  const senderId = overrides.senderId ?? conversation.memberIds[0];
  const clientMessageId = overrides.clientMessageId ?? randomUUID();
  return {
    v: 1,
    id: messageIdFor(senderId, overrides.conversationId ?? conversation.id, clientMessageId),
    conversationId: conversation.id,
    senderId,
    clientMessageId,
    ciphertext: Buffer.from(randomUUID()).toString('base64'),
    sentAt: new Date().toISOString(),
    memberIds: conversation.memberIds,
    ...overrides,
  };
}

/** Sends raw bodies in batches of 10, several batches at a time. */
export async function sendBodies(
  sqs: SQSClient,
  queueUrl: string,
  bodies: Array<string | object>,
  parallel = 8,
): Promise<void> {
  const batches: string[][] = [];
  const texts = bodies.map((body) => (typeof body === 'string' ? body : JSON.stringify(body)));
  for (let index = 0; index < texts.length; index += 10) batches.push(texts.slice(index, index + 10));
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        const result = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((MessageBody, id) => ({
              Id: String(id),
              MessageBody,
              ...fifoFields(queueUrl, MessageBody),
            })),
          }),
        );
        if (result.Failed?.length) throw new Error(`send failed: ${JSON.stringify(result.Failed)}`);
      }
    }),
  );
}

export async function countStored(db: DataSource, conversationId: string): Promise<number> {
  const [row] = await db.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1`, [conversationId]);
  return row.n;
}

/** Visible + in flight + delayed. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Drains whatever is visible (messages stay in flight for 60 s, the queue is a test's own). */
export async function receiveAll(sqs: SQSClient, queueUrl: string, waitSeconds = 1): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: 60,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (!Messages?.length) return all;
    all.push(...Messages);
  }
}

/** The shared `eventually`, with the worker suites' longer default (queues redeliver after visibility timeouts). */
export function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  return waitUntil(probe, timeoutMs, what, 100);
}

/**
 * A device of the user, as login would make it, optionally registered for push (`webhook`, the given token).
 * The worker suites write users directly, so their devices too.
 */
export async function addDevice(db: DataSource, userId: string, deviceId: number, pushToken?: string): Promise<void> {
  await db.query(
    `INSERT INTO devices (user_id, id, session_id, name, refresh_expires_at, push_provider, push_token, push_updated_at)
     VALUES ($1, $2, $3, $4, now() + interval '1 day', $5, $6, CASE WHEN $6::text IS NULL THEN NULL ELSE now() END)`,
    [userId, deviceId, randomUUID(), `device ${deviceId}`, pushToken ? 'webhook' : null, pushToken ?? null],
  );
}

/** A push token unique to the test, so pushes are told apart by it. */
export const testPushToken = () => `tok-${randomUUID()}`;

/** A push provider that records what it was asked to send (and never contacts anything). */
export class RecordingPushProvider implements PushProvider {
  readonly name = 'recording';
  readonly sent: PushNotification[] = [];
  async send(notification: PushNotification): Promise<PushOutcome> {
    this.sent.push(notification);
    return 'delivered';
  }
}
