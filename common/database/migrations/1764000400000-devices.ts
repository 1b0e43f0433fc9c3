import { MigrationInterface, QueryRunner } from 'typeorm';
import { grantTables, revokeTables, TableGrants } from '../grants';
import { TABLE_GRANTS } from './1764000200000-least-privilege-grants';

/**
 * The whole grant of every table this migration creates or whose use changes with devices. Tables not named keep
 * what LeastPrivilegeGrants gave them.
 */
/** How long the devices made from pre-upgrade sessions and accounts keep their keys published without a login. */
const LEGACY_DEVICE_LIFETIME_SECONDS = 60 * 24 * 3600;

export const DEVICE_TABLE_GRANTS: TableGrants = {
  api: {
    users: ['SELECT', 'INSERT', 'UPDATE'], // next_device_id is taken with UPDATE ... RETURNING
    devices: ['SELECT', 'INSERT', 'UPDATE'], // removal is a soft delete: ids are never reused
    key_bundles: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], // a removed device's keys go with it
    conversations: ['SELECT', 'INSERT', 'UPDATE'], // membership_version
    conversation_members: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], // members added and removed
    membership_changes: ['SELECT', 'INSERT'],
    device_messages: ['SELECT', 'DELETE'], // pending list and acks; the worker stores them
  },
  worker: {
    devices: ['SELECT', 'UPDATE (push_provider, push_token, push_updated_at)'], // push targets; drops dead tokens
    device_messages: ['SELECT', 'INSERT', 'DELETE'], // idempotent store, expiry purge
  },
};

/**
 * Devices: an account has several (phone, laptop, tablet); a login is a device. Each device has its own refresh
 * token, key bundle, one-time prekeys and mailbox, and signs what it sends.
 *
 * Existing data: every live session becomes a device of its user (numbered 1, 2, ... in login order) and keeps its
 * id as the device's session id, so access tokens issued before the upgrade keep working until they expire. Every
 * other account gets a device 1. These devices have no refresh token: the account's next login adopts the lowest of
 * them (keys and id kept) instead of adding a device. The account's key bundle, one-time prekeys and sent messages
 * belong to device 1, and stay published for REFRESH_TOKEN_TTL while the account comes back.
 *
 * The release before this one keeps running beside it during a rolling deploy, so this migration only adds:
 * `sessions` stays (the API mirrors device sessions into it, and the release after this one drops it), and the new
 * device columns keep their default of 1, which is what the old release's inserts mean. Nothing here rewrites a big
 * table: new columns with constant defaults are instant, the foreign keys to devices are NOT VALID (every existing
 * row names device 1 of its user, made just above), and the per-device prekey index is built concurrently in the
 * next migration.
 */
export class Devices1764000400000 implements MigrationInterface {
  name = 'Devices1764000400000';

  async up(db: QueryRunner): Promise<void> {
    // Null until the account's first device after the upgrade is taken: then max(id) + 1 (see DevicesRepository).
    await db.query(`ALTER TABLE users ADD COLUMN next_device_id integer`);
    await db.query(`
      CREATE TABLE devices (
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        id integer NOT NULL CHECK (id > 0),
        session_id uuid NOT NULL,
        name varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        removed_at timestamptz,
        refresh_token_hash bytea,
        refresh_generation integer NOT NULL DEFAULT 0,
        previous_refresh_hash bytea,
        refreshed_at timestamptz,
        refresh_expires_at timestamptz NOT NULL,
        push_provider varchar(16),
        push_token text,
        push_updated_at timestamptz,
        PRIMARY KEY (user_id, id),
        CONSTRAINT devices_push_pair CHECK ((push_provider IS NULL) = (push_token IS NULL))
      )`);
    await db.query(`CREATE UNIQUE INDEX devices_session_id_key ON devices (session_id)`);

    await db.query(
      `
      INSERT INTO devices (user_id, id, session_id, name, created_at, last_seen_at, refresh_expires_at)
      SELECT user_id, row_number() OVER w, id, 'device ' || row_number() OVER w, created_at, created_at,
             now() + make_interval(secs => $1)
      FROM sessions WHERE revoked_at IS NULL AND expires_at > now()
      WINDOW w AS (PARTITION BY user_id ORDER BY created_at, id)`,
      [LEGACY_DEVICE_LIFETIME_SECONDS],
    );
    await db.query(
      `
      INSERT INTO devices (user_id, id, session_id, name, created_at, last_seen_at, refresh_expires_at)
      SELECT u.id, 1, gen_random_uuid(), 'device 1', u.created_at, u.updated_at, now() + make_interval(secs => $1)
      FROM users u WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.user_id = u.id)`,
      [LEGACY_DEVICE_LIFETIME_SECONDS],
    );

    // Keys per device: what is there is device 1's.
    await db.query(`ALTER TABLE key_bundles ADD COLUMN device_id integer NOT NULL DEFAULT 1`);
    await db.query(`ALTER TABLE key_bundles DROP CONSTRAINT key_bundles_pkey, ADD PRIMARY KEY (user_id, device_id)`);
    await db.query(`ALTER TABLE one_time_prekeys ADD COLUMN device_id integer NOT NULL DEFAULT 1`);
    for (const table of ['key_bundles', 'one_time_prekeys'])
      await db.query(`
        ALTER TABLE ${table} ADD CONSTRAINT ${table}_device_fkey
          FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, id) ON DELETE CASCADE NOT VALID`);

    // The device that sent each message. Instant on any size of table (a constant default is stored once).
    await db.query(`ALTER TABLE messages ADD COLUMN sender_device_id integer NOT NULL DEFAULT 1`);

    // Members change: each change is a row (sync reports them), and the version lets caches refuse stale fills.
    await db.query(`ALTER TABLE conversations ADD COLUMN membership_version bigint NOT NULL DEFAULT 1`);
    await db.query(`
      CREATE TABLE membership_changes (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        change varchar(8) NOT NULL CHECK (change IN ('added', 'removed')),
        actor_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        changed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX membership_changes_user_idx ON membership_changes (user_id, seq)`);
    await db.query(`CREATE INDEX membership_changes_conversation_idx ON membership_changes (conversation_id, seq)`);

    // Device-to-device mailboxes: a row per recipient device until it acknowledges or the row expires.
    await db.query(`
      CREATE TABLE device_messages (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        user_id uuid NOT NULL,
        device_id integer NOT NULL,
        sender_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        sender_device_id integer NOT NULL,
        ciphertext text NOT NULL,
        sent_at timestamptz NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE INDEX device_messages_recipient_idx ON device_messages (user_id, device_id, seq)`);
    await db.query(`CREATE INDEX device_messages_expiry_idx ON device_messages (expires_at)`);

    await grantTables(db, DEVICE_TABLE_GRANTS);
  }

  async down(db: QueryRunner): Promise<void> {
    await revokeTables(db, DEVICE_TABLE_GRANTS);
    await db.query(`DROP TABLE device_messages`);
    await db.query(`DROP TABLE membership_changes`);
    await db.query(`ALTER TABLE conversations DROP COLUMN membership_version`);
    await db.query(`ALTER TABLE messages DROP COLUMN sender_device_id`);
    // Back to one bundle per account: device 1's, or the lowest device's that has one.
    for (const table of ['key_bundles', 'one_time_prekeys'])
      await db.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_device_fkey`);
    await db.query(`
      DELETE FROM key_bundles k WHERE device_id > (SELECT min(device_id) FROM key_bundles o WHERE o.user_id = k.user_id)`);
    await db.query(`
      DELETE FROM one_time_prekeys k USING key_bundles b WHERE b.user_id = k.user_id AND b.device_id <> k.device_id`);
    await db.query(`ALTER TABLE key_bundles DROP CONSTRAINT key_bundles_pkey, ADD PRIMARY KEY (user_id)`);
    await db.query(`ALTER TABLE key_bundles DROP COLUMN device_id`);
    await db.query(`ALTER TABLE one_time_prekeys DROP COLUMN device_id`);
    // Sessions were mirrored all along; devices that log in no more are sessions no more.
    await db.query(`
      UPDATE sessions s SET revoked_at = coalesce(s.revoked_at, now()) FROM devices d
      WHERE d.session_id = s.id AND d.removed_at IS NOT NULL`);
    await db.query(`DROP TABLE devices`);
    await db.query(`ALTER TABLE users DROP COLUMN next_device_id`);
    // What LeastPrivilegeGrants gave the tables that are still here.
    await grantTables(db, { api: TABLE_GRANTS.api, worker: TABLE_GRANTS.worker });
  }
}
