import type { QueryRunner } from 'typeorm';

/** An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index behind; dropping it lets the build run again. */
export async function dropIndexIfInvalid(db: QueryRunner, index: string): Promise<void> {
  const rows: Array<{ valid: boolean }> = await db.query(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relname = $1 AND c.relnamespace = 'public'::regnamespace`,
    [index],
  );
  if (rows[0] && !rows[0].valid) await db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
}
