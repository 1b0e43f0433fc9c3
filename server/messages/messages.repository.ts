import { Injectable } from '@nestjs/common';
import { MessageView } from '../../common/contracts/realtime-events';
import { DatabaseService } from '../infrastructure/database.service';

/**
 * Where the reader's history starts: after its join point (conversation_members.joined_seq). A member row the
 * replica has not replayed yet (added a moment ago) shows nothing rather than everything.
 */
const JOINED_SEQ = (reader: string) =>
  `coalesce((SELECT joined_seq FROM conversation_members j WHERE j.conversation_id = $1 AND j.user_id = ${reader}), ${MAX_SEQ})`;
const MAX_SEQ = '9223372036854775807';

/** timestamptz as Date.toISOString() writes it: UTC, milliseconds truncated (as a JS Date holds them). */
const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * A row in the API's MessageView shape and key order, made by PostgreSQL: a page of 50 needs no Date parsing,
 * formatting or mapping here (common/database/message-row.ts's messageView does the same in JavaScript).
 */
const MESSAGE_VIEW = `id, seq::text AS seq, conversation_id AS "conversationId", sender_id AS "senderId",
  sender_device_id AS "senderDeviceId", client_message_id AS "clientMessageId", ciphertext,
  ${ISO('sent_at')} AS "sentAt", ${ISO('stored_at')} AS "storedAt"`;

/** Stored messages (the worker writes them) and read positions. */
@Injectable()
export class MessagesRepository {
  constructor(private readonly db: DatabaseService) {}

  /**
   * History, newest first, from a read replica: served by messages_conversation_seq_idx. ORDER BY names
   * `messages.seq`: a bare `seq` would mean the text alias of the select list, and sort "9" above "10".
   */
  async history(
    conversationId: string,
    readerId: string,
    beforeSeq: string | undefined,
    limit: number,
  ): Promise<MessageView[]> {
    const { rows } = await this.db.replica<MessageView>(
      `SELECT ${MESSAGE_VIEW}
       FROM messages
       WHERE conversation_id = $1 AND ($2::bigint IS NULL OR seq < $2::bigint) AND seq > ${JOINED_SEQ('$4')}
       ORDER BY messages.seq DESC
       LIMIT $3`,
      [conversationId, beforeSeq ?? null, limit, readerId],
    );
    return rows;
  }

  /** History after `afterSeq`, oldest first (catch-up), from a read replica, on the same index as `history`. */
  async historyAfter(
    conversationId: string,
    readerId: string,
    afterSeq: string,
    limit: number,
  ): Promise<MessageView[]> {
    const { rows } = await this.db.replica<MessageView>(
      `SELECT ${MESSAGE_VIEW}
       FROM messages
       WHERE conversation_id = $1 AND seq > $2::bigint AND seq > ${JOINED_SEQ('$4')}
       ORDER BY messages.seq ASC
       LIMIT $3`,
      [conversationId, afterSeq, limit, readerId],
    );
    return rows;
  }

  /**
   * Moves the member's read position forward to `messageId` (never backwards). Primary: the message may have
   * been stored a moment ago. Answers `missing` when the message is not in this conversation.
   */
  async markRead(
    conversationId: string,
    userId: string,
    messageId: string,
  ): Promise<{ outcome: 'advanced'; readAt: Date } | { outcome: 'unchanged' } | { outcome: 'missing' }> {
    const { rows } = await this.db.primary<{ found: boolean; read_at: Date | null }>(
      `WITH target AS (SELECT seq FROM messages WHERE id = $3 AND conversation_id = $1),
       moved AS (
         UPDATE conversation_members m SET last_read_message_id = $3, last_read_at = now()
         FROM target
         WHERE m.conversation_id = $1 AND m.user_id = $2
           AND (m.last_read_message_id IS NULL
                OR coalesce((SELECT seq FROM messages WHERE id = m.last_read_message_id), 0) < target.seq)
         RETURNING m.last_read_at
       )
       SELECT EXISTS (SELECT 1 FROM target) AS found, (SELECT last_read_at FROM moved) AS read_at`,
      [conversationId, userId, messageId],
    );
    const row = rows[0];
    if (!row.found) return { outcome: 'missing' };
    return row.read_at ? { outcome: 'advanced', readAt: row.read_at } : { outcome: 'unchanged' };
  }
}
