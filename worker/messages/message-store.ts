import { DataSource } from 'typeorm';
import { MessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { MessageView } from '../../common/contracts/realtime-events';
import { MessageRow, messageView } from '../../common/database/message-row';

/**
 * `permanent`: the message itself fails (a constraint); `unavailable`: the primary could not be reached, so
 * every message would fail the same way and none is at fault; `blocked`: not attempted, because an earlier
 * message of its conversation in the same batch failed and storing it first would put it before that one.
 */
export type StoreResult =
  { status: 'stored' | 'duplicate'; message: MessageView } | StoreFailure | { status: 'blocked' };

/** A write that failed, classified for the batch handler (the conversation and the mailbox stores share it). */
export interface StoreFailure {
  status: 'failed';
  error: Error;
  permanent: boolean;
  unavailable?: boolean;
}

interface Row extends MessageRow {
  inserted: boolean;
}

/**
 * One statement, one implicit transaction, one round trip: insert what is new (ON CONFLICT DO NOTHING
 * on every unique key), and return both the rows inserted now and those stored earlier under the same
 * (sender_id, conversation_id, client_message_id): the idempotency key, a client id being scoped to its
 * conversation. The second SELECT reads the snapshot from before the insert, so a row
 * is never reported twice. WITH ORDINALITY keeps seq in the order the batch arrived.
 */
const INSERT_BATCH = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::uuid[], $6::text[], $7::timestamptz[])
      WITH ORDINALITY AS t(id, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext, sent_at, ord)
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext, sent_at)
    SELECT id, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext, sent_at FROM input ORDER BY ord
    ON CONFLICT DO NOTHING
    RETURNING id, seq, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext, sent_at, stored_at
  )
  SELECT true AS inserted, i.* FROM inserted i
  UNION ALL
  SELECT false, m.id, m.seq, m.conversation_id, m.sender_id, m.sender_device_id, m.client_message_id, m.ciphertext,
         m.sent_at, m.stored_at
    FROM messages m JOIN input USING (sender_id, conversation_id, client_message_id)`;

const keyOf = (senderId: string, conversationId: string, clientMessageId: string) =>
  `${senderId.toLowerCase()}|${conversationId.toLowerCase()}|${clientMessageId.toLowerCase()}`;

/** SQLSTATE classes 22 (data exception) and 23 (integrity violation) fail the same way every time. */
export function isPermanentDatabaseError(error: unknown): boolean {
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } }).code ??
    (error as { driverError?: { code?: unknown } }).driverError?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Connection-level failures: the socket could not be opened, was cut, or timed out. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * SQLSTATE class 08 (connection exception); 57P01-57P03 (the server is shutting down, crashed, or not yet
 * accepting connections: a restart or a failover); 25006 (read-only transaction: a demoted primary after failover).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|25006)$/;

/** What node-postgres and its pool say when the connection is lost or never made. */
const UNREACHABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|connection timeout|not queryable|Connection ended/i;

/**
 * True when PostgreSQL itself could not be reached (connection refused, cut, timed out, the server shutting
 * down), as opposed to a statement that failed. TypeORM wraps the driver's error; node's connect may report
 * several addresses' failures at once (AggregateError).
 */
export function isPrimaryUnreachable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (candidate: unknown): boolean => {
    if (!candidate || typeof candidate !== 'object' || seen.has(candidate)) return false;
    seen.add(candidate);
    const { code, message, driverError, cause, errors } = candidate as {
      code?: unknown;
      message?: unknown;
      driverError?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    if (typeof message === 'string' && UNREACHABLE_MESSAGE.test(message)) return true;
    return [driverError, cause, ...(Array.isArray(errors) ? errors : [])].some(visit);
  };
  return visit(error);
}

/** Bodies queued before devices existed name no device: their senders' only device became device 1. */
const LEGACY_SENDER_DEVICE_ID = 1;

/** Writes messages to the primary, idempotently. */
export class MessageStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores a batch in one statement; `seq` follows the order of `bodies`, which is queue order within a
   * conversation (the FIFO group). If the statement fails for a reason of the data (one message's conversation
   * was deleted: FK violation), each message is retried alone so only the bad one fails; the messages after it
   * in its conversation are then `blocked`, not stored, so none overtakes it. Results are in the order of `bodies`.
   */
  async storeBatch(bodies: MessageQueueBodyV1[]): Promise<StoreResult[]> {
    if (bodies.length === 0) return [];
    try {
      return await this.insert(bodies);
    } catch (error) {
      if (bodies.length === 1 || !isPermanentDatabaseError(error)) return bodies.map(() => storeFailure(error));
      const results: StoreResult[] = [];
      const failedConversations = new Set<string>();
      for (const body of bodies) {
        if (failedConversations.has(body.conversationId)) {
          results.push({ status: 'blocked' });
          continue;
        }
        try {
          results.push(...(await this.insert([body])));
        } catch (single) {
          results.push(storeFailure(single));
          failedConversations.add(body.conversationId);
        }
      }
      return results;
    }
  }

  private async insert(bodies: MessageQueueBodyV1[]): Promise<StoreResult[]> {
    const unique = [
      ...new Map(
        bodies.map((body) => [keyOf(body.senderId, body.conversationId, body.clientMessageId), body]),
      ).values(),
    ];
    const rows: Row[] = await this.dataSource.query(INSERT_BATCH, [
      unique.map((body) => body.id),
      unique.map((body) => body.conversationId),
      unique.map((body) => body.senderId),
      unique.map((body) => body.senderDeviceId ?? LEGACY_SENDER_DEVICE_ID),
      unique.map((body) => body.clientMessageId),
      unique.map((body) => body.ciphertext),
      unique.map((body) => body.sentAt),
    ]);
    const byKey = new Map(rows.map((row) => [keyOf(row.sender_id, row.conversation_id, row.client_message_id), row]));
    const reported = new Set<string>();
    return bodies.map((body): StoreResult => {
      const key = keyOf(body.senderId, body.conversationId, body.clientMessageId);
      const row = byKey.get(key);
      if (!row) {
        // Skipped by ON CONFLICT yet not found by its key: its id is taken by a different message, or a
        // concurrent worker inserted it after this statement's snapshot. Retrying settles which.
        return storeFailure(
          new Error(
            `message ${body.id} conflicts with a row that is not its own (sender, conversation, clientMessageId)`,
          ),
          false,
        );
      }
      const first = row.inserted && !reported.has(key);
      reported.add(key);
      return { status: first ? 'stored' : 'duplicate', message: messageView(row) };
    });
  }
}

export function storeFailure(error: unknown, permanent = isPermanentDatabaseError(error)): StoreFailure {
  const unavailable = !permanent && isPrimaryUnreachable(error);
  return {
    status: 'failed',
    error: error instanceof Error ? error : new Error(String(error)),
    permanent,
    ...(unavailable ? { unavailable } : {}),
  };
}
