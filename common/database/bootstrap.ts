import { Client, escapeIdentifier } from 'pg';
import { DATABASE_ROLES } from './roles';

/** The roles the bootstrap makes sure exist, by purpose (see roles.ts). */
export type RoleNames = { migrate: string; api: string; worker: string };

export interface BootstrapOptions {
  host: string;
  port: number;
  database: string;
  /** The RDS master login (from its secret): used for this one connection, never by a running process. */
  master: { username: string; password: string };
  /** TLS options for pg (verify-full). */
  ssl: false | object;
  /** @default DATABASE_ROLES */
  roles?: RoleNames;
  /** Serializes concurrent bootstraps (every worker instance runs the migration at once on a new stack). */
  lockId: number;
}

/** What the bootstrap did, for the migration's log. */
export interface BootstrapReport {
  createdRoles: string[];
  ownedObjectsMoved: number;
}

/** PostgreSQL's refusals of a login: no such role, not an IAM role, a bad or expired token, pg_hba rejects. */
export function isLoginRefused(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === '28P01' || code === '28000';
}

/**
 * Gives a database the roles the processes log in as, once, as the master user: creates the login roles that
 * are missing, makes each an IAM role (`GRANT rds_iam`: from then on RDS accepts only IAM tokens for it), and
 * makes the migration role own the database and every object of the schema the master owned (a database that
 * served the master's own logins before keeps its data; its tables just change owner). One transaction: all or
 * nothing. Idempotent: a second run finds everything in place.
 */
export async function bootstrapRoles(options: BootstrapOptions): Promise<BootstrapReport> {
  const roles = options.roles ?? DATABASE_ROLES;
  const client = new Client({
    host: options.host,
    port: options.port,
    database: options.database,
    user: options.master.username,
    password: options.master.password,
    ssl: options.ssl,
    connectionTimeoutMillis: 5_000,
    application_name: 'cyphr-migrate-bootstrap',
  });
  await client.connect();
  const migrate = escapeIdentifier(roles.migrate);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [options.lockId]);
    const createdRoles: string[] = [];
    for (const role of [roles.migrate, roles.api, roles.worker]) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (!rowCount) {
        await client.query(`CREATE ROLE ${escapeIdentifier(role)} LOGIN`);
        createdRoles.push(role);
      }
      await client.query(`GRANT rds_iam TO ${escapeIdentifier(role)}`);
    }
    // Handing an object to a role needs membership in it; RDS's master is no superuser. The membership ends
    // with this transaction: through it the master would count as an rds_iam member and lose its password login.
    const [{ rolsuper }] = (await client.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).rows;
    if (!rolsuper) await client.query(`GRANT ${migrate} TO CURRENT_USER`);
    await client.query(`ALTER DATABASE ${escapeIdentifier(options.database)} OWNER TO ${migrate}`);
    const { rows: moves } = await client.query<{ ddl: string }>(MASTER_OBJECTS_TO_MOVE, [roles.migrate]);
    for (const { ddl } of moves) await client.query(ddl);
    if (!rolsuper) await client.query(`REVOKE ${migrate} FROM CURRENT_USER`);
    await client.query('COMMIT');
    return { createdRoles, ownedObjectsMoved: moves.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

// The schema and everything in it that the master owns (tables with their indexes and owned sequences, views,
// standalone sequences, types, routines) moves to the migration role. Sequences owned by a column follow their
// table and cannot be moved alone. Yields the statements; format(%I) quotes every name.
const MASTER_OBJECTS_TO_MOVE = `
WITH target AS (SELECT $1::text AS role),
schema AS (
  SELECT format('ALTER SCHEMA public OWNER TO %I', (SELECT role FROM target)) AS ddl
  FROM pg_namespace WHERE nspname = 'public' AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
),
relations AS (
  SELECT format('ALTER TABLE public.%I OWNER TO %I', c.relname, (SELECT role FROM target)) AS ddl
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
    AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
),
types AS (
  SELECT format('ALTER TYPE public.%I OWNER TO %I', t.typname, (SELECT role FROM target)) AS ddl
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r') AND t.typowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
),
routines AS (
  SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, (SELECT role FROM target)) AS ddl
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'public' AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
)
SELECT ddl FROM schema UNION ALL SELECT ddl FROM relations UNION ALL SELECT ddl FROM types UNION ALL SELECT ddl FROM routines`;
