/**
 * The PostgreSQL roles the processes log in as, shared by the stack (IAM `rds-db:connect` grants, user data)
 * and the migration (which creates them, `GRANT rds_iam`, and owns the schema). The master user is kept for
 * break-glass and for creating these roles on a new database; no long-running process uses it.
 */
export const DATABASE_ROLES = {
  /** Owns the schema and runs the migrations (DDL). */
  migrate: 'cyphr_migrate',
  /** The API: DML on the tables it serves, no DDL. */
  api: 'cyphr_api',
  /** The worker: DML on the tables it stores into and reads, no DDL. */
  worker: 'cyphr_worker',
} as const;

export type DatabaseRole = keyof typeof DATABASE_ROLES;
export const MASTER_USERNAME = 'cyphr_admin';
