import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  carriedAttributes,
  CyphrAttributes,
  receiveCount,
  sentAt,
  stringAttribute,
  withAttributes,
} from '../queue/attributes';
import { resolveQueueUrl } from '../queue/redrive';

/** One dead letter as the tool shows it: metadata and the envelope's ids, never the ciphertext. */
export interface DeadLetter {
  messageId: string;
  /** ApproximateReceiveCount: deliveries so far, including failed attempts on the source queue and inspections. */
  receives: number;
  sentAt?: string;
  ageSeconds?: number;
  /** Where a replay sends it: our attribute (malformed rejects), else SQS's DeadLetterQueueSourceArn. */
  source?: string;
  /** Why the worker rejected it; absent for messages moved by the redrive policy (they failed maxReceiveCount times). */
  reason?: string;
  replays: number;
  bytes: number;
  summary: Record<string, unknown>;
}

const SUMMARY_FIELDS = [
  'v',
  'kind',
  'id',
  'conversationId',
  'senderId',
  'clientMessageId',
  'userId',
  'deviceId',
  'messageId',
  'sentAt',
  'createdAt',
];

function summarize(body: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return { unparseable: 'not a JSON object' };
    const record = parsed as Record<string, unknown>;
    return Object.fromEntries(SUMMARY_FIELDS.filter((field) => field in record).map((field) => [field, record[field]]));
  } catch {
    return { unparseable: 'not JSON' };
  }
}

export function describe(message: Message, now = Date.now()): DeadLetter {
  const sent = sentAt(message);
  return {
    messageId: message.MessageId ?? '',
    receives: receiveCount(message),
    sentAt: sent === undefined ? undefined : new Date(sent).toISOString(),
    ageSeconds: sent === undefined ? undefined : Math.round((now - sent) / 1000),
    source: stringAttribute(message, CyphrAttributes.sourceQueue) ?? message.Attributes?.DeadLetterQueueSourceArn,
    reason: stringAttribute(message, CyphrAttributes.rejectReason),
    replays: Number(stringAttribute(message, CyphrAttributes.replays) ?? 0),
    bytes: Buffer.byteLength(message.Body ?? '', 'utf8'),
    summary: summarize(message.Body ?? ''),
  };
}

async function receive(sqs: SQSClient, queueUrl: string, max: number, visibilitySeconds: number): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilitySeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: [
        'SentTimestamp',
        'ApproximateReceiveCount',
        'DeadLetterQueueSourceArn',
        'MessageGroupId',
      ],
    }),
  );
  return Messages ?? [];
}

async function release(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  for (let index = 0; index < messages.length; index += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages
          .slice(index, index + 10)
          .map((message, id) => ({ Id: String(id), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
}

/**
 * Lists up to `limit` dead letters. SQS has no peek: each is received (hidden while the listing runs,
 * so none is shown twice) and made visible again at the end.
 */
export async function listDeadLetters(sqs: SQSClient, dlqUrl: string, limit: number): Promise<DeadLetter[]> {
  const seen: Message[] = [];
  try {
    while (seen.length < limit) {
      const batch = await receive(sqs, dlqUrl, limit - seen.length, 60);
      if (batch.length === 0) break;
      seen.push(...batch);
    }
    return seen.map((message) => describe(message));
  } finally {
    await release(sqs, dlqUrl, seen);
  }
}

export interface ReplayResult {
  replayed: Array<{ messageId: string; to: string }>;
  /** Left in the DLQ: no known source queue, or the send failed. */
  skipped: Array<{ messageId: string; reason: string }>;
}

/**
 * Moves up to `limit` dead letters back to their source queue (or `to`): send first, then delete, so a
 * crash in between duplicates a message (stored once anyway: the worker's insert is idempotent) rather
 * than losing it. Bodies and the sender's attributes are kept; the reject markers are dropped and a
 * replay count is added.
 */
export async function replayDeadLetters(
  sqs: SQSClient,
  dlqUrl: string,
  options: { limit: number; to?: string },
): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: [], skipped: [] };
  const urls = new Map<string, string>();
  const urlOf = async (queue: string) => {
    if (!urls.has(queue)) urls.set(queue, await resolveQueueUrl(sqs, queue));
    return urls.get(queue)!;
  };
  const unplaceable: Message[] = [];
  try {
    await replayBatches(sqs, dlqUrl, options, result, unplaceable, urlOf);
  } finally {
    // What could not be replayed stays in the DLQ, visible again (hidden only during this run, so it is reported once).
    await release(sqs, dlqUrl, unplaceable);
  }
  return result;
}

/**
 * A replay to a FIFO queue keeps the message's group (its conversation) and gets a deduplication id of its own
 * per replay, so replaying it again later is not dropped as a copy. It joins the end of its group: it is stored
 * after whatever its conversation received while it was dead-lettered.
 */
function replayFifoIds(
  message: Message,
  queueUrl: string,
): { MessageGroupId?: string; MessageDeduplicationId?: string } {
  if (!queueUrl.endsWith('.fifo')) return {};
  const conversation = describe(message).summary.conversationId;
  return {
    MessageGroupId:
      typeof conversation === 'string' ? conversation : (message.Attributes?.MessageGroupId ?? 'ungrouped'),
    MessageDeduplicationId: `replay-${describe(message).replays + 1}-${message.MessageId ?? randomUUID()}`,
  };
}

async function replayBatches(
  sqs: SQSClient,
  dlqUrl: string,
  options: { limit: number; to?: string },
  result: ReplayResult,
  unplaceable: Message[],
  urlOf: (queue: string) => Promise<string>,
): Promise<void> {
  while (result.replayed.length + result.skipped.length < options.limit) {
    const batch = await receive(sqs, dlqUrl, options.limit - result.replayed.length - result.skipped.length, 60);
    if (batch.length === 0) break;
    const byTarget = new Map<string, Message[]>();
    for (const message of batch) {
      const target = options.to ?? describe(message).source;
      if (!target) {
        unplaceable.push(message);
        result.skipped.push({ messageId: message.MessageId ?? '', reason: 'source queue unknown: pass --to' });
        continue;
      }
      let url: string;
      try {
        url = await urlOf(target);
      } catch (error) {
        unplaceable.push(message);
        result.skipped.push({
          messageId: message.MessageId ?? '',
          reason: `cannot resolve ${target}: ${(error as Error).message}`,
        });
        continue;
      }
      // A source read from the message is only trusted on the DLQ's own endpoint and account: whoever can write to
      // the DLQ could otherwise have a replay send its bodies (signed by the role) to a host or queue of their choosing.
      if (!options.to && !sameEndpointAndAccount(url, dlqUrl)) {
        unplaceable.push(message);
        result.skipped.push({
          messageId: message.MessageId ?? '',
          reason: `source queue ${url} is not on the DLQ's endpoint and account: pass --to`,
        });
        continue;
      }
      byTarget.set(url, [...(byTarget.get(url) ?? []), message]);
    }
    for (const [url, messages] of byTarget) {
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: messages.map((message, id) => ({
            Id: String(id),
            MessageBody: message.Body ?? '',
            ...replayFifoIds(message, url),
            MessageAttributes: withAttributes(carriedAttributes(message), {
              [CyphrAttributes.replays]: String(describe(message).replays + 1),
            }),
          })),
        }),
      );
      const ok = (sent.Successful ?? []).map((entry) => messages[Number(entry.Id)]);
      for (const failure of sent.Failed ?? []) {
        const message = messages[Number(failure.Id)];
        unplaceable.push(message);
        result.skipped.push({
          messageId: message.MessageId ?? '',
          reason: `send failed: ${failure.Message ?? failure.Code}`,
        });
      }
      if (ok.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: dlqUrl,
            Entries: ok.map((message, id) => ({ Id: String(id), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
        for (const message of ok) result.replayed.push({ messageId: message.MessageId ?? '', to: url });
      }
    }
  }
}

/** Deletes up to `limit` dead letters, or everything (PurgeQueue) when limit is 'all'. */
export async function purgeDeadLetters(sqs: SQSClient, dlqUrl: string, limit: number | 'all'): Promise<number | 'all'> {
  if (limit === 'all') {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: dlqUrl }));
    return 'all';
  }
  let purged = 0;
  while (purged < limit) {
    const batch = await receive(sqs, dlqUrl, limit - purged, 30);
    if (batch.length === 0) break;
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: batch.map((message, id) => ({ Id: String(id), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    purged += batch.length;
  }
  return purged;
}

/** Queue URLs are `<endpoint>/<account>/<name>`. */
function sameEndpointAndAccount(queueUrl: string, dlqUrl: string): boolean {
  try {
    const [queue, dlq] = [new URL(queueUrl), new URL(dlqUrl)];
    return queue.origin === dlq.origin && queue.pathname.split('/')[1] === dlq.pathname.split('/')[1];
  } catch {
    return false;
  }
}
