import type { QueryRunner } from 'typeorm';
import { DATABASE_ROLES } from './roles';

export type ServiceRole = 'api' | 'worker';

/** Per role: table → the privileges it gets on it (replacing whatever it had there). */
export type TableGrants = Partial<Record<ServiceRole, Record<string, string[]>>>;

export const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The service roles that exist here: on AWS the migration creates them; a local password-path database has none. */
export async function existingServiceRoles(db: QueryRunner): Promise<ServiceRole[]> {
  const roles = ['api', 'worker'] as const;
  const rows: Array<{ rolname: string }> = await db.query(`SELECT rolname FROM pg_roles WHERE rolname = ANY($1)`, [
    roles.map((role) => DATABASE_ROLES[role]),
  ]);
  return roles.filter((role) => rows.some((row) => row.rolname === DATABASE_ROLES[role]));
}

/**
 * Grants exactly `grants` on each named table to each existing service role, after revoking what it had there:
 * a later migration states a table's whole grant, so reading it tells what the role may do.
 */
export async function grantTables(db: QueryRunner, grants: TableGrants): Promise<void> {
  for (const role of await existingServiceRoles(db)) {
    const who = quoteIdentifier(DATABASE_ROLES[role]);
    for (const [table, privileges] of Object.entries(grants[role] ?? {})) {
      await db.query(`REVOKE ALL ON TABLE ${quoteIdentifier(table)} FROM ${who}`);
      if (privileges.length > 0)
        await db.query(`GRANT ${privileges.join(', ')} ON TABLE ${quoteIdentifier(table)} TO ${who}`);
    }
  }
}

/** Takes back everything the roles have on the named tables (a migration's down). */
export async function revokeTables(db: QueryRunner, grants: TableGrants): Promise<void> {
  for (const role of await existingServiceRoles(db)) {
    const who = quoteIdentifier(DATABASE_ROLES[role]);
    for (const table of Object.keys(grants[role] ?? {}))
      await db.query(`REVOKE ALL ON TABLE ${quoteIdentifier(table)} FROM ${who}`);
  }
}
