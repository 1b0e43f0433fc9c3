import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../infrastructure/database.service';
import { MemberCache } from './member-cache';
import { MembershipPlan, MembershipState } from './membership-rules';

export interface MembershipOutcome extends MembershipPlan {
  /** Members before the change (all of them hear about it, the removed too). */
  previousMemberIds: string[];
  memberIds: string[];
  membershipVersion: string;
}

/**
 * Member changes, each in one primary transaction: the conversation's row is locked first (so changes to one
 * conversation are serial and their membership_changes rows commit in seq order), the rules decide on what is there
 * now, then the rows, the change log and the version move together.
 */
@Injectable()
export class MembershipRepository {
  constructor(
    private readonly db: DatabaseService,
    private readonly cache: MemberCache,
  ) {}

  /** undefined when the conversation does not exist; `decide` throws to refuse. */
  async change(
    conversationId: string,
    actorId: string,
    decide: (state: MembershipState) => MembershipPlan,
  ): Promise<MembershipOutcome | undefined> {
    const outcome = await this.db.transaction(async (query) => {
      const { rows } = await query<{ admin_id: string | null; version: string; member_ids: string[] }>(
        `SELECT coalesce(admin_id, created_by) AS admin_id, membership_version::text AS version,
                ARRAY(SELECT user_id FROM conversation_members m WHERE m.conversation_id = c.id
                      ORDER BY m.joined_at, m.user_id)::text[] AS member_ids
         FROM conversations c WHERE id = $1 FOR UPDATE`,
        [conversationId],
      );
      if (!rows[0]) return undefined;
      const previousMemberIds = rows[0].member_ids;
      const plan = decide({ adminId: rows[0].admin_id, memberIds: previousMemberIds });
      if (plan.added.length === 0 && plan.removed.length === 0)
        return { ...plan, previousMemberIds, memberIds: previousMemberIds, membershipVersion: rows[0].version };

      const bumped = await query<{ version: string }>(
        `UPDATE conversations SET membership_version = membership_version + 1, admin_id = $2 WHERE id = $1
         RETURNING membership_version::text AS version`,
        [conversationId, plan.adminId],
      );
      const membershipVersion = bumped.rows[0].version;
      // Before anything commits, no instance may serve the old members from the cache any more.
      await this.cache.reserve(conversationId, membershipVersion);
      if (plan.added.length > 0)
        // The join point: what was stored before is not theirs to read (see the 1764000420000 migration).
        await query(
          `INSERT INTO conversation_members (conversation_id, user_id, joined_seq)
           SELECT $1, added, (SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = $1)
           FROM unnest($2::uuid[]) AS added`,
          [conversationId, plan.added],
        );
      if (plan.removed.length > 0)
        await query('DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = ANY($2::uuid[])', [
          conversationId,
          plan.removed,
        ]);
      await query(
        `INSERT INTO membership_changes (conversation_id, user_id, change, actor_id)
         SELECT $1, changed.user_id, changed.change, $4
         FROM (SELECT unnest($2::uuid[]) AS user_id, 'added' AS change
               UNION ALL SELECT unnest($3::uuid[]), 'removed') AS changed`,
        [conversationId, plan.added, plan.removed, actorId],
      );
      const memberIds = [...previousMemberIds.filter((id) => !plan.removed.includes(id)), ...plan.added];
      return { ...plan, previousMemberIds, memberIds, membershipVersion };
    });
    if (outcome && (outcome.added.length > 0 || outcome.removed.length > 0))
      await this.cache.offer(conversationId, outcome.membershipVersion, outcome.memberIds);
    return outcome;
  }
}
