import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../config/database-options';
import { validateEnvironment } from '../config/environment';
import { loadLocalEnvFile } from '../config/local-env-file';
import { MigrateSettings } from '../config/migrate-settings';
import { readDatabaseLogin, resolveSecrets, SecretReader, secretsManagerReader } from '../config/secrets';
import { bootstrapRoles, BootstrapReport, isLoginRefused, RoleNames } from './bootstrap';
import { DATABASE_ROLES } from './roles';
import { loadDatabaseCa, verifyFullTls } from './tls';

// Any fixed 64-bit number shared by every instance: the advisory lock that serializes concurrent deploys.
const MIGRATION_LOCK_ID = 0x63797068; // "cyph"

/**
 * Runs pending migrations on the primary. Safe when many instances start at once: they queue on a
 * session-level advisory lock, and the ones after the first find nothing left to do.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner('master');
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}

export interface MigrateDependencies {
  readSecret?: SecretReader;
  log?: (line: string) => void;
  /** @default DATABASE_ROLES (tests bootstrap roles of their own) */
  roles?: RoleNames;
}

export interface MigrateResult {
  applied: string[];
  bootstrap?: BootstrapReport;
}

/**
 * The migration as it runs on a worker instance, with the worker's settings. With DATABASE_AUTH=iam it logs in as
 * DATABASE_MIGRATION_USER (the schema owner) with an IAM token. On a new database that role does not exist yet,
 * so the login is refused: then, and only then, the master secret is read and the roles are created
 * (bootstrap.ts), and the login is tried once more.
 */
export async function migrate(env: MigrateSettings, deps: MigrateDependencies = {}): Promise<MigrateResult> {
  const read = deps.readSecret ?? secretsManagerReader(env.AWS_REGION);
  const log = deps.log ?? ((line: string) => console.log(line));
  const iam = env.DATABASE_AUTH === 'iam';
  // The database login is the only secret the migration may need (none with IAM).
  const secrets = iam
    ? {}
    : await resolveSecrets(
        { ...env, JWT_SECRET: 'unused', JWT_SECRET_ARN: undefined, REDIS_AUTH_SECRET_ARN: undefined },
        read,
      );
  const ca = env.DATABASE_SSL === 'true' ? loadDatabaseCa(env.DATABASE_CA_FILE) : undefined;
  const roles = deps.roles ?? DATABASE_ROLES;
  const open = async () => {
    const dataSource = new DataSource(
      buildDataSourceOptions(env, secrets, {
        poolSize: 2,
        applicationName: 'cyphr-migrate',
        primaryOnly: true,
        ca,
        ...(iam ? { username: env.DATABASE_MIGRATION_USER ?? roles.migrate } : {}),
      }),
    );
    return dataSource.initialize();
  };

  const canBootstrap = iam && !!env.DATABASE_MASTER_SECRET_ARN && !!env.DATABASE_HOST;
  let dataSource: DataSource | undefined;
  let bootstrap: BootstrapReport | undefined;
  try {
    dataSource = await open();
    // The role may exist (made by hand, or a restored snapshot) without owning this database yet.
    if (canBootstrap && !(await ownsDatabase(dataSource))) {
      log('migrate: the migration role does not own the database yet; handing it over');
      await dataSource.destroy();
      dataSource = undefined;
    }
  } catch (error) {
    if (!canBootstrap || !isLoginRefused(error)) throw error;
    log(`migrate: IAM login as ${env.DATABASE_MIGRATION_USER ?? roles.migrate} refused; creating the database roles`);
  }
  if (!dataSource) {
    bootstrap = await bootstrapRoles({
      host: env.DATABASE_HOST!,
      port: env.DATABASE_PORT,
      database: env.DATABASE_NAME,
      master: await readDatabaseLogin(env.DATABASE_MASTER_SECRET_ARN!, read),
      ssl: ca ? verifyFullTls(ca, env.DATABASE_HOST!) : false,
      roles: { ...roles, migrate: env.DATABASE_MIGRATION_USER ?? roles.migrate },
      lockId: MIGRATION_LOCK_ID,
    });
    log(
      `migrate: roles created: ${bootstrap.createdRoles.join(', ') || 'none'}; ` +
        `${bootstrap.ownedObjectsMoved} objects now owned by the migration role`,
    );
    dataSource = await open();
  }
  try {
    return { applied: await runMigrations(dataSource), bootstrap };
  } finally {
    await dataSource.destroy();
  }
}

async function ownsDatabase(dataSource: DataSource): Promise<boolean> {
  const rows: unknown[] = await dataSource.query(
    `SELECT 1 FROM pg_database WHERE datname = current_database() AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
  );
  return rows.length > 0;
}

async function main(): Promise<void> {
  loadLocalEnvFile();
  // The worker's env file: the migration runs on worker instances, before the worker (cyphr-migrate.service).
  const env = validateEnvironment(MigrateSettings, process.env);
  const { applied } = await migrate(env);
  console.log(applied.length === 0 ? 'migrate: schema is up to date' : `migrate: applied ${applied.join(', ')}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
