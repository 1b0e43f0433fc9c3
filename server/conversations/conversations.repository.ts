import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../infrastructure/database.service';
import { ConversationView } from './conversations.dto';
import { MemberCache } from './member-cache';

interface ConversationRow {
  id: string;
  title: string | null;
  created_by: string;
  admin_id: string | null;
  created_at: Date;
  member_ids: string[];
  joined_at_text: string;
}

const toView = (row: ConversationRow): ConversationView => ({
  id: row.id,
  title: row.title,
  createdBy: row.created_by,
  adminId: row.admin_id,
  createdAt: row.created_at.toISOString(),
  memberIds: row.member_ids,
});

/**
 * Conversations and their members. Members are read through MemberCache (`members:{id}`, versioned) and, on a
 * miss, from the primary (a conversation created or changed a moment ago must be seen as it is now) together with
 * the membership version in the same statement, so the refill can be refused if a change has overtaken it. Lists
 * come from the primary too: a user expects the conversation just created.
 */
@Injectable()
export class ConversationsRepository {
  constructor(
    private readonly db: DatabaseService,
    private readonly cache: MemberCache,
  ) {}

  async create(creatorId: string, memberIds: string[], title: string | null): Promise<ConversationView> {
    const view = await this.db.transaction(async (query) => {
      const { rows } = await query<{
        id: string;
        title: string | null;
        created_by: string;
        created_at: Date;
        version: string;
      }>(
        `INSERT INTO conversations (title, created_by, admin_id) VALUES ($1, $2, $2)
         RETURNING id, title, created_by, created_at, membership_version::text AS version`,
        [title, creatorId],
      );
      await query('INSERT INTO conversation_members (conversation_id, user_id) SELECT $1, unnest($2::uuid[])', [
        rows[0].id,
        memberIds,
      ]);
      // Logged like later additions, so a member's next sync tells its devices about the new conversation.
      await query(
        `INSERT INTO membership_changes (conversation_id, user_id, change, actor_id)
         SELECT $1, unnest($2::uuid[]), 'added', $3`,
        [rows[0].id, memberIds, creatorId],
      );
      return {
        id: rows[0].id,
        title: rows[0].title,
        createdBy: rows[0].created_by,
        adminId: rows[0].created_by,
        createdAt: rows[0].created_at.toISOString(),
        memberIds,
        version: rows[0].version,
      };
    });
    const { version, ...conversation } = view;
    await this.cache.offer(view.id, version, memberIds);
    return conversation;
  }

  /** Member ids, or an empty list when the conversation does not exist. */
  async members(conversationId: string): Promise<string[]> {
    const cached = await this.cache.read(conversationId);
    if (cached) return cached;
    const loaded = await this.loadMembers(conversationId);
    if (!loaded) return [];
    await this.cache.offer(conversationId, loaded.version, loaded.memberIds);
    return loaded.memberIds;
  }

  /** A page of the user's conversations, newest joined first; the cursor is (joined_at, id) of the last row. */
  async listForUser(
    userId: string,
    after: { joinedAt: string; id: string } | undefined,
    limit: number,
  ): Promise<{ view: ConversationView; joinedAt: string }[]> {
    const { rows } = await this.db.primary<ConversationRow>(
      `SELECT c.id, c.title, c.created_by, coalesce(c.admin_id, c.created_by) AS admin_id, c.created_at,
              m.joined_at::text AS joined_at_text,
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

  /** Members and the version they are at, in one statement (one snapshot); undefined: no such conversation. */
  private async loadMembers(conversationId: string): Promise<{ version: string; memberIds: string[] } | undefined> {
    const { rows } = await this.db.primary<{ version: string; member_ids: string[] }>(
      `SELECT c.membership_version::text AS version,
              ARRAY(SELECT user_id FROM conversation_members m WHERE m.conversation_id = c.id)::text[] AS member_ids
       FROM conversations c WHERE c.id = $1`,
      [conversationId],
    );
    return rows[0] && { version: rows[0].version, memberIds: rows[0].member_ids };
  }
}
