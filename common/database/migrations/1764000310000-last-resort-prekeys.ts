import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each user's last-resort prekey, beside the signed prekey: handed out when no one-time prekey is left (or the
 * user's one-time prekeys are being fetched faster than the per-target limit allows), and never consumed.
 * Nullable: users who have not uploaded one yet get no prekey, as before. New columns of key_bundles are
 * covered by its table grants.
 */
export class LastResortPrekeys1764000310000 implements MigrationInterface {
  name = 'LastResortPrekeys1764000310000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE key_bundles
        ADD COLUMN IF NOT EXISTS last_resort_key_id integer,
        ADD COLUMN IF NOT EXISTS last_resort_key text,
        ADD COLUMN IF NOT EXISTS last_resort_key_signature text`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE key_bundles
        DROP COLUMN IF EXISTS last_resort_key_id,
        DROP COLUMN IF EXISTS last_resort_key,
        DROP COLUMN IF EXISTS last_resort_key_signature`);
  }
}
