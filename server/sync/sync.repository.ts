import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../infrastructure/database.service';

export interface Membership {
  conversationId: string;
  /** History starts after it (the join point). */
  joinedSeq: string;
}

export interface ConversationActivity {
  conversationId: string;
  /** Newest seq the caller may read; null when there is none yet. */
  latestSeq: string | null;
  /** Messages above max(since, joinedSeq), counted up to the cap. */
  newMessages: number;
  /** Newest seq above `since` that is settled (see SyncService): the cursor may move up to it. */
  settledSeq: string | null;
}

export interface MembershipChangeRow {
  seq: string;
  conversationId: string;
  userId: string;
  change: 'added' | 'removed';
  actorId: string;
  changedAt: Date;
  settled: boolean;
}

/**
 * The reads behind GET /v1/sync: four statements, whatever the number of conversations. Memberships, membership
 * changes and the mailbox count from the primary (they change through this API; a device must see a change it just
 * caused); message activity from a replica, as history is.
 */
@Injectable()
export class SyncRepository {
  constructor(private readonly db: DatabaseService) {}

  async memberships(userId: string): Promise<Membership[]> {
    const { rows } = await this.db.primary<{ conversation_id: string; joined_seq: string }>(
      'SELECT conversation_id, joined_seq::text AS joined_seq FROM conversation_members WHERE user_id = $1',
      [userId],
    );
    return rows.map((row) => ({ conversationId: row.conversation_id, joinedSeq: row.joined_seq }));
  }

  /**
   * Per conversation, on messages_conversation_seq_idx: the newest readable seq, the new messages (capped), and the
   * newest seq above `sinceSeq` stored before the replica's replay point minus `settleSeconds`.
   */
  async activity(
    memberships: Membership[],
    sinceSeq: string,
    settleSeconds: number,
    countCap: number,
  ): Promise<ConversationActivity[]> {
    if (memberships.length === 0) return [];
    const { rows } = await this.db.replica<{
      conversation_id: string;
      latest_seq: string | null;
      new_messages: number;
      settled_seq: string | null;
    }>(ACTIVITY_SQL, [
      memberships.map((m) => m.conversationId),
      memberships.map((m) => m.joinedSeq),
      sinceSeq,
      countCap,
      settleSeconds,
    ]);
    return rows.map((row) => ({
      conversationId: row.conversation_id,
      latestSeq: row.latest_seq,
      newMessages: row.new_messages,
      settledSeq: row.settled_seq,
    }));
  }

  /**
   * Changes above `sinceSeq`, oldest first, up to `limit`: about the caller (its own additions and removals, so a
   * device learns it was removed), and in the conversations it is in now from when it joined them.
   */
  async membershipChanges(
    userId: string,
    conversationIds: string[],
    sinceSeq: string,
    settleSeconds: number,
    limit: number,
  ): Promise<MembershipChangeRow[]> {
    const { rows } = await this.db.primary<{
      seq: string;
      conversation_id: string;
      user_id: string;
      change: 'added' | 'removed';
      actor_id: string;
      changed_at: Date;
      settled: boolean;
    }>(
      `SELECT c.seq::text AS seq, c.conversation_id, c.user_id, c.change, c.actor_id, c.changed_at,
              c.changed_at < now() - make_interval(secs => $4) AS settled
       FROM membership_changes c
       LEFT JOIN conversation_members mine ON mine.conversation_id = c.conversation_id AND mine.user_id = $1
       WHERE c.seq > $3::bigint
         AND (c.user_id = $1 OR (c.conversation_id = ANY($2::uuid[]) AND c.changed_at >= mine.joined_at))
       ORDER BY c.seq
       LIMIT $5`,
      [userId, conversationIds, sinceSeq, settleSeconds, limit],
    );
    return rows.map((row) => ({
      seq: row.seq,
      conversationId: row.conversation_id,
      userId: row.user_id,
      change: row.change,
      actorId: row.actor_id,
      changedAt: row.changed_at,
      settled: row.settled,
    }));
  }

  /** Unexpired device messages waiting for this device (user and device: another device's mailbox is not its). */
  async pendingDeviceMessages(userId: string, deviceId: number): Promise<number> {
    const { rows } = await this.db.primary<{ pending: number }>(
      `SELECT count(*)::int AS pending FROM device_messages
       WHERE user_id = $1 AND device_id = $2 AND expires_at > now()`,
      [userId, deviceId],
    );
    return rows[0].pending;
  }
}

/** One row per conversation; each lateral subquery is a short range scan of messages_conversation_seq_idx. */
export const ACTIVITY_SQL = `
  WITH settle AS (
    SELECT coalesce(pg_last_xact_replay_timestamp(), now()) - make_interval(secs => $5) AS before
  )
  SELECT mine.conversation_id::text AS conversation_id,
         latest.seq::text AS latest_seq,
         (SELECT count(*)::int FROM (
            SELECT 1 FROM messages n
            WHERE n.conversation_id = mine.conversation_id AND n.seq > greatest($3::bigint, mine.joined_seq)
            LIMIT $4) capped) AS new_messages,
         settled.seq::text AS settled_seq
  FROM unnest($1::uuid[], $2::bigint[]) AS mine (conversation_id, joined_seq)
  LEFT JOIN LATERAL (
    SELECT l.seq FROM messages l
    WHERE l.conversation_id = mine.conversation_id AND l.seq > mine.joined_seq
    ORDER BY l.seq DESC LIMIT 1) latest ON true
  LEFT JOIN LATERAL (
    SELECT s.seq FROM messages s, settle
    WHERE s.conversation_id = mine.conversation_id AND s.seq > $3::bigint AND s.stored_at < settle.before
    ORDER BY s.seq DESC LIMIT 1) settled ON true`;
