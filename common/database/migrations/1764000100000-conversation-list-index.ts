import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Added by the server (issue 5): "my conversations" is paginated newest-joined first with the keyset cursor
 * (joined_at, conversation_id); this index serves it without a sort.
 */
export class ConversationListIndex1764000100000 implements MigrationInterface {
  name = 'ConversationListIndex1764000100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `CREATE INDEX IF NOT EXISTS conversation_members_user_joined_idx ON conversation_members (user_id, joined_at DESC, conversation_id DESC)`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS conversation_members_user_joined_idx`);
  }
}
