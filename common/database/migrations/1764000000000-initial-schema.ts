import { MigrationInterface, QueryRunner } from 'typeorm';

/** The first schema: users and sessions, the public-key directory, conversations, messages. */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        username varchar(32) NOT NULL,
        display_name varchar(64),
        password_hash text NOT NULL,
        identity_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`);

    await db.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
      )`);
    await db.query(`CREATE INDEX sessions_user_id_idx ON sessions (user_id)`);

    await db.query(`
      CREATE TABLE key_bundles (
        user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        signed_prekey_id integer NOT NULL,
        signed_prekey text NOT NULL,
        signed_prekey_signature text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE one_time_prekeys (
        id bigserial PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        key_id integer NOT NULL,
        public_key text NOT NULL
      )`);
    await db.query(`CREATE UNIQUE INDEX one_time_prekeys_user_key_key ON one_time_prekeys (user_id, key_id)`);

    await db.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        title varchar(128),
        created_by uuid NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE conversation_members (
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        joined_at timestamptz NOT NULL DEFAULT now(),
        last_read_message_id uuid,
        last_read_at timestamptz,
        PRIMARY KEY (conversation_id, user_id)
      )`);
    // "My conversations", newest first, is the hot membership query.
    await db.query(`CREATE INDEX conversation_members_user_idx ON conversation_members (user_id, conversation_id)`);

    await db.query(`
      CREATE TABLE messages (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        sender_id uuid NOT NULL REFERENCES users (id),
        client_message_id uuid NOT NULL,
        ciphertext text NOT NULL,
        sent_at timestamptz NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Idempotent inserts from the worker: a redelivered queue message hits this key and is skipped.
    await db.query(`CREATE UNIQUE INDEX messages_sender_client_id_key ON messages (sender_id, client_message_id)`);
    // History pages: WHERE conversation_id = $1 AND seq < $cursor ORDER BY seq DESC LIMIT n.
    await db.query(`CREATE INDEX messages_conversation_seq_idx ON messages (conversation_id, seq DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of [
      'messages',
      'conversation_members',
      'conversations',
      'one_time_prekeys',
      'key_bundles',
      'sessions',
      'users',
    ]) {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
