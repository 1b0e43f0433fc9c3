import type { DataSourceOptions } from 'typeorm';
import type { PostgresConnectionCredentialsOptions } from 'typeorm/driver/postgres/PostgresConnectionCredentialsOptions';
import { ENTITIES } from '../database/entities';
import { MIGRATIONS } from '../database/migrations';
import { DatabaseSettings, splitList } from './environment';
import { ResolvedSecrets } from './secrets';

export interface DatabaseOptionsOverrides {
  /** Connections per pool (per primary and per replica). */
  poolSize?: number;
  /** Name shown in pg_stat_activity; helps tell server from worker. */
  applicationName?: string;
}

function credentials(
  env: DatabaseSettings,
  secrets: ResolvedSecrets,
  urls: string[],
  hosts: string[],
): PostgresConnectionCredentialsOptions[] {
  const ssl = env.DATABASE_SSL === 'true' ? { rejectUnauthorized: true } : false;
  if (urls.length > 0) return urls.map((url) => ({ url, ssl }));
  return hosts.map((host) => ({
    host,
    port: 5432,
    database: env.DATABASE_NAME,
    username: secrets.database?.username,
    password: secrets.database?.password,
    ssl,
  }));
}

/**
 * TypeORM options with replication: writes and transactions go to `master`, `find` reads to a slave.
 * No replicas configured → the primary serves reads too. Schema changes only through migrations.
 */
export function buildDataSourceOptions(
  env: DatabaseSettings,
  secrets: ResolvedSecrets,
  overrides: DatabaseOptionsOverrides = {},
): DataSourceOptions {
  const [master] = credentials(
    env,
    secrets,
    env.DATABASE_URL ? [env.DATABASE_URL] : [],
    env.DATABASE_HOST ? [env.DATABASE_HOST] : [],
  );
  const slaves = credentials(env, secrets, splitList(env.DATABASE_REPLICA_URLS), splitList(env.DATABASE_REPLICA_HOSTS));
  return {
    type: 'postgres',
    replication: { master, slaves: slaves.length > 0 ? slaves : [master] },
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'cyphr_migrations',
    synchronize: false,
    migrationsRun: false,
    poolSize: overrides.poolSize ?? 10,
    applicationName: overrides.applicationName ?? 'cyphr',
    extra: { connectionTimeoutMillis: 5_000, statement_timeout: 15_000 },
  };
}
