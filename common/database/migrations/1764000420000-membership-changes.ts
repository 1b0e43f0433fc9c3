import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Members change after creation.
 * - `conversation_members.joined_seq`: the conversation's newest message seq when the member joined. History and
 *   sync serve a member only messages after it: a member added later does not get what was said before (it was
 *   encrypted under sender keys it never received anyway). Existing members and the creators' first members get 0:
 *   they see everything, as before.
 * - `conversations.admin_id`: who may add and remove others; when the admin leaves, the longest-standing member
 *   takes over, so a group never ends up with nobody able to add a member. Null means the creator: conversations
 *   from before (and from the previous release, still serving during a rolling deploy) need no backfill, and a
 *   conversation everyone left falls back to a creator who is no member, so nobody acts there.
 * Both are instant on big tables: a constant default is stored once, a nullable column costs nothing.
 * The API's grants already cover them (DEVICE_TABLE_GRANTS: conversations UPDATE, conversation_members all four).
 */
export class MembershipChanges1764000420000 implements MigrationInterface {
  name = 'MembershipChanges1764000420000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE conversation_members ADD COLUMN joined_seq bigint NOT NULL DEFAULT 0`);
    await db.query(`ALTER TABLE conversations ADD COLUMN admin_id uuid REFERENCES users (id) ON DELETE SET NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE conversations DROP COLUMN admin_id`);
    await db.query(`ALTER TABLE conversation_members DROP COLUMN joined_seq`);
  }
}
