import { Injectable } from '@nestjs/common';
import { RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { DatabaseService } from '../infrastructure/database.service';
import { RedisService } from '../infrastructure/redis.service';
import { MetricsService } from '../metrics/metrics.service';
import { ConversationView } from './conversations.dto';

interface ConversationRow {
  id: string;
  title: string | null;
  created_by: string;
  created_at: Date;
  member_ids: string[];
  joined_at_text: string;
}

const toView = (row: ConversationRow): ConversationView => ({
  id: row.id,
  title: row.title,
  createdBy: row.created_by,
  createdAt: row.created_at.toISOString(),
  memberIds: row.member_ids,
});

/**
 * Conversations and their members. Membership never changes after creation, so `members:{id}` (a set,
 * 300 s) is filled on a miss from the primary (a conversation created a moment ago must be found) and
 * needs no invalidation. Lists come from the primary too: a user expects the conversation just created.
 */
@Injectable()
export class ConversationsRepository {
  constructor(
    private readonly db: DatabaseService,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  async create(creatorId: string, memberIds: string[], title: string | null): Promise<ConversationView> {
    const view = await this.db.transaction(async (query) => {
      const { rows } = await query<{ id: string; title: string | null; created_by: string; created_at: Date }>(
        'INSERT INTO conversations (title, created_by) VALUES ($1, $2) RETURNING id, title, created_by, created_at',
        [title, creatorId],
      );
      await query('INSERT INTO conversation_members (conversation_id, user_id) SELECT $1, unnest($2::uuid[])', [
        rows[0].id,
        memberIds,
      ]);
      return {
        id: rows[0].id,
        title: rows[0].title,
        createdBy: rows[0].created_by,
        createdAt: rows[0].created_at.toISOString(),
        memberIds,
      };
    });
    await this.cacheMembers(view.id, memberIds);
    return view;
  }

  /** Member ids, or an empty list when the conversation does not exist. */
  async members(conversationId: string): Promise<string[]> {
    try {
      const cached = await this.redis.run('read members', (redis) => redis.sMembers(RedisKeys.members(conversationId)));
      this.metrics.cache('members', cached.length > 0 ? 'hit' : 'miss');
      if (cached.length > 0) return cached;
    } catch {
      this.metrics.cache('members', 'error');
      return this.loadMembers(conversationId);
    }
    const members = await this.loadMembers(conversationId);
    if (members.length > 0) await this.cacheMembers(conversationId, members);
    return members;
  }

  /** A page of the user's conversations, newest joined first; the cursor is (joined_at, id) of the last row. */
  async listForUser(
    userId: string,
    after: { joinedAt: string; id: string } | undefined,
    limit: number,
  ): Promise<{ view: ConversationView; joinedAt: string }[]> {
    const { rows } = await this.db.primary<ConversationRow>(
      `SELECT c.id, c.title, c.created_by, c.created_at, m.joined_at::text AS joined_at_text,
              ARRAY(SELECT user_id FROM conversation_members o WHERE o.conversation_id = c.id ORDER BY o.joined_at, o.user_id)::text[] AS member_ids
       FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.user_id = $1 AND ($2::timestamptz IS NULL OR (m.joined_at, m.conversation_id) < ($2::timestamptz, $3::uuid))
       ORDER BY m.joined_at DESC, m.conversation_id DESC
       LIMIT $4`,
      [userId, after?.joinedAt ?? null, after?.id ?? null, limit],
    );
    // joined_at as PostgreSQL text keeps its microseconds; a JS Date would round them off and break the cursor.
    return rows.map((row) => ({ view: toView(row), joinedAt: row.joined_at_text }));
  }

  private async loadMembers(conversationId: string): Promise<string[]> {
    const { rows } = await this.db.primary<{ user_id: string }>(
      'SELECT user_id FROM conversation_members WHERE conversation_id = $1',
      [conversationId],
    );
    return rows.map((row) => row.user_id);
  }

  private async cacheMembers(conversationId: string, memberIds: string[]): Promise<void> {
    const key = RedisKeys.members(conversationId);
    await this.redis.attempt('cache members', (redis) =>
      redis.transaction(key).del().sAdd(memberIds).expire(RedisTtlSeconds.members).exec(),
    );
  }
}
