import { MigrationInterface, QueryRunner } from 'typeorm';
import { existingServiceRoles, grantTables, quoteIdentifier, revokeTables } from '../grants';
import { DATABASE_ROLES } from '../roles';

/**
 * Exactly the DML each process runs (read from its SQL: server repositories, the realtime gateway, the worker's
 * message store). Reads on replicas need the same SELECT: grants replicate. A table added later is granted to
 * nobody until its own migration says so.
 */
export const TABLE_GRANTS: Record<'api' | 'worker', Record<string, string[]>> = {
  api: {
    users: ['SELECT', 'INSERT', 'UPDATE'],
    sessions: ['SELECT', 'INSERT', 'UPDATE'],
    key_bundles: ['SELECT', 'INSERT', 'UPDATE'], // upsert: INSERT ... ON CONFLICT DO UPDATE
    // Claiming a one-time prekey is SELECT ... FOR UPDATE SKIP LOCKED + DELETE; FOR UPDATE needs UPDATE on
    // some column, and the key's id is one nobody ever changes.
    one_time_prekeys: ['SELECT', 'INSERT', 'DELETE', 'UPDATE (id)'],
    conversations: ['SELECT', 'INSERT'],
    conversation_members: ['SELECT', 'INSERT', 'UPDATE'], // read positions
    messages: ['SELECT'], // history; the worker stores them
  },
  worker: {
    messages: ['SELECT', 'INSERT'], // idempotent batch insert, then reads back what was already there
  },
};

/** Sequences behind serial columns the role inserts into (identity columns need no grant). */
export const SEQUENCE_GRANTS: Record<'api' | 'worker', string[]> = {
  api: ['one_time_prekeys_id_seq'],
  worker: [],
};

/**
 * Least privilege for the api and worker roles: CONNECT, USAGE on the schema, the DML above, nothing else
 * (no CREATE, no TRUNCATE, no REFERENCES or TRIGGER). Roles that do not exist yet are skipped: on AWS the migration
 * creates them before it runs (bootstrap in migrate.ts); a local database on the password path has none.
 */
export class LeastPrivilegeGrants1764000200000 implements MigrationInterface {
  name = 'LeastPrivilegeGrants1764000200000';

  async up(db: QueryRunner): Promise<void> {
    const database = await this.databaseWeOwn(db);
    // Nothing new is usable by anyone by default (PostgreSQL's default already grants tables to nobody; functions
    // are executable by PUBLIC unless revoked). Stated here so the policy does not rest on a default.
    await db.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM PUBLIC`);
    await db.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM PUBLIC`);
    await db.query(`ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`);
    if (await this.schemaIsOurs(db)) await db.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);

    for (const role of await existingServiceRoles(db)) {
      const who = quoteIdentifier(DATABASE_ROLES[role]);
      if (database) await db.query(`GRANT CONNECT ON DATABASE ${quoteIdentifier(database)} TO ${who}`);
      await db.query(`GRANT USAGE ON SCHEMA public TO ${who}`);
      for (const sequence of SEQUENCE_GRANTS[role])
        await db.query(`GRANT USAGE ON SEQUENCE ${quoteIdentifier(sequence)} TO ${who}`);
    }
    await grantTables(db, TABLE_GRANTS);
  }

  async down(db: QueryRunner): Promise<void> {
    const database = await this.databaseWeOwn(db);
    await db.query(`ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC`);
    await revokeTables(db, TABLE_GRANTS);
    for (const role of await existingServiceRoles(db)) {
      const who = quoteIdentifier(DATABASE_ROLES[role]);
      for (const sequence of SEQUENCE_GRANTS[role])
        await db.query(`REVOKE ALL ON SEQUENCE ${quoteIdentifier(sequence)} FROM ${who}`);
      await db.query(`REVOKE USAGE ON SCHEMA public FROM ${who}`);
      if (database) await db.query(`REVOKE CONNECT ON DATABASE ${quoteIdentifier(database)} FROM ${who}`);
    }
  }

  /** The database's name when the migrating role owns it (only the owner grants CONNECT). */
  private async databaseWeOwn(db: QueryRunner): Promise<string | undefined> {
    const rows: Array<{ datname: string }> = await db.query(
      `SELECT datname FROM pg_database WHERE datname = current_database() AND pg_has_role(datdba, 'USAGE')`,
    );
    return rows[0]?.datname;
  }

  private async schemaIsOurs(db: QueryRunner): Promise<boolean> {
    const rows: unknown[] = await db.query(
      `SELECT 1 FROM pg_namespace WHERE nspname = 'public' AND pg_has_role(nspowner, 'USAGE')`,
    );
    return rows.length > 0;
  }
}
