import { MigrationInterface, QueryRunner } from 'typeorm';
import { dropIndexIfInvalid } from '../indexes';

const NEW_KEY = 'one_time_prekeys_device_key_key';
const OLD_KEY = 'one_time_prekeys_user_key_key';

/**
 * One-time prekey ids are a device's own: two devices of an account may both upload key 1. The unique key moves from
 * (user_id, key_id) to (user_id, device_id, key_id). one_time_prekeys is the biggest table of the key directory (a
 * hundred rows per device), so the index is built CONCURRENTLY, outside a transaction, as the messages key was; an
 * interrupted build leaves an INVALID index that the next run drops and rebuilds.
 */
export class OneTimePrekeysPerDevice1764000400500 implements MigrationInterface {
  name = 'OneTimePrekeysPerDevice1764000400500';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    await dropIndexIfInvalid(db, NEW_KEY);
    await db.query(
      `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${NEW_KEY} ON one_time_prekeys (user_id, device_id, key_id)`,
    );
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${OLD_KEY}`);
  }

  /** Fails if two devices of one account meanwhile stored the same key id: they cannot share the old key. */
  async down(db: QueryRunner): Promise<void> {
    await dropIndexIfInvalid(db, OLD_KEY);
    await db.query(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${OLD_KEY} ON one_time_prekeys (user_id, key_id)`);
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${NEW_KEY}`);
  }
}
