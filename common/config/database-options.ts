import type { DataSourceOptions } from 'typeorm';
import type { PostgresConnectionCredentialsOptions } from 'typeorm/driver/postgres/PostgresConnectionCredentialsOptions';
import { ENTITIES } from '../database/entities';
import { rdsIamPassword } from '../database/iam-auth';
import { MIGRATIONS } from '../database/migrations';
import { CaBundle, loadDatabaseCa, verifyFullTls } from '../database/tls';
import { DatabaseSettings, splitList } from './environment';
import { ResolvedSecrets } from './secrets';

export interface DatabaseOptionsOverrides {
  /** Connections per pool (per primary and per replica). */
  poolSize?: number;
  /** Name shown in pg_stat_activity; helps tell server from worker. */
  applicationName?: string;
  /** Log in as this role instead of DATABASE_USER (the migration logs in as DATABASE_MIGRATION_USER). */
  username?: string;
  /** Connect to the primary only (the migration). */
  primaryOnly?: boolean;
  /** The CA bundle, when the caller has read it already. @default read once from DATABASE_CA_FILE */
  ca?: CaBundle;
}

interface Login {
  username?: string;
  password?: string | (() => Promise<string>);
}

/** How a process logs in to one host: an IAM token signed per connection, or the secret's password. */
function login(env: DatabaseSettings, secrets: ResolvedSecrets, host: string, port: number, username?: string): Login {
  if (env.DATABASE_AUTH === 'iam') {
    const user = username ?? env.DATABASE_USER;
    if (!user) throw new Error('DATABASE_AUTH=iam needs DATABASE_USER');
    return {
      username: user,
      password: rdsIamPassword({ hostname: host, port, username: user, region: env.AWS_REGION }),
    };
  }
  return { username: username ?? secrets.database?.username, password: secrets.database?.password };
}

/**
 * `host` or `host:port`: on AWS every endpoint listens on DATABASE_PORT; a local replica runs beside its
 * primary on another port, so a replica entry may carry its own.
 */
function endpoint(entry: string, defaultPort: number): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(entry);
  return match ? { host: match[1], port: Number(match[2]) } : { host: entry, port: defaultPort };
}

function credentials(
  env: DatabaseSettings,
  secrets: ResolvedSecrets,
  urls: string[],
  hosts: string[],
  overrides: DatabaseOptionsOverrides,
  ca: () => CaBundle,
): PostgresConnectionCredentialsOptions[] {
  const tls = env.DATABASE_SSL === 'true';
  if (urls.length > 0) {
    return urls.map((url) => ({ url, ssl: tls ? verifyFullTls(ca(), new URL(url).hostname) : false }));
  }
  return hosts.map((entry) => {
    const { host, port } = endpoint(entry, env.DATABASE_PORT);
    return {
      host,
      port,
      database: env.DATABASE_NAME,
      ...login(env, secrets, host, port, overrides.username),
      ssl: tls ? verifyFullTls(ca(), host) : false,
    };
  });
}

/** Every statement of the API and the worker is cancelled after this long (sync's settle margin builds on it). */
export const DATABASE_STATEMENT_TIMEOUT_MS = 15_000;

/**
 * TypeORM options with replication: writes and transactions go to `master`, `find` reads to a slave.
 * No replicas configured → the primary serves reads too. Schema changes only through migrations.
 * With DATABASE_SSL=true every connection is verify-full against DATABASE_CA_FILE (read here, once).
 */
export function buildDataSourceOptions(
  env: DatabaseSettings,
  secrets: ResolvedSecrets,
  overrides: DatabaseOptionsOverrides = {},
): DataSourceOptions {
  let bundle = overrides.ca;
  const ca = () => (bundle ??= loadDatabaseCa(env.DATABASE_CA_FILE));
  const [master] = credentials(
    env,
    secrets,
    env.DATABASE_URL ? [env.DATABASE_URL] : [],
    env.DATABASE_HOST ? [env.DATABASE_HOST] : [],
    overrides,
    ca,
  );
  const slaves = overrides.primaryOnly
    ? []
    : credentials(
        env,
        secrets,
        splitList(env.DATABASE_REPLICA_URLS),
        splitList(env.DATABASE_REPLICA_HOSTS),
        overrides,
        ca,
      );
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
    extra: { connectionTimeoutMillis: 5_000, statement_timeout: DATABASE_STATEMENT_TIMEOUT_MS },
  };
}
