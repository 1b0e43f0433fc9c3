import { MigrationInterface, QueryRunner } from 'typeorm';
import { dropIndexIfInvalid } from '../indexes';

const NEW_KEY = 'messages_sender_conversation_client_id_key';
const OLD_KEY = 'messages_sender_client_id_key';

/**
 * A client message id is an idempotency key within one conversation: the worker's idempotent insert keys on
 * (sender_id, conversation_id, client_message_id). Under the old (sender_id, client_message_id) key, a client id
 * reused in another conversation was taken for a retry and the new message silently dropped.
 *
 * The new key is wider than the old, so every stored row already satisfies it. Built CONCURRENTLY (messages is the
 * big, hot table: a plain CREATE INDEX would block the worker's inserts for the whole build), hence outside a
 * transaction. An interrupted concurrent build leaves an INVALID index behind; it is dropped and rebuilt on the next run.
 */
export class MessageIdempotencyPerConversation1764000320000 implements MigrationInterface {
  name = 'MessageIdempotencyPerConversation1764000320000';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    await dropIndexIfInvalid(db, NEW_KEY);
    await db.query(
      `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${NEW_KEY} ON messages (sender_id, conversation_id, client_message_id)`,
    );
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${OLD_KEY}`);
  }

  /** Fails if a client id was meanwhile reused across conversations: such rows cannot go back under the old key. */
  async down(db: QueryRunner): Promise<void> {
    await dropIndexIfInvalid(db, OLD_KEY);
    await db.query(
      `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${OLD_KEY} ON messages (sender_id, client_message_id)`,
    );
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${NEW_KEY}`);
  }
}
