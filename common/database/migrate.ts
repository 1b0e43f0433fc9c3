import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../config/database-options';
import { validateEnvironment } from '../config/environment';
import { loadLocalEnvFile } from '../config/local-env-file';
import { MigrateSettings } from '../config/migrate-settings';
import { resolveSecrets } from '../config/secrets';

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

async function main(): Promise<void> {
  loadLocalEnvFile();
  // The worker's env file: the migration runs on worker instances, before the worker (cyphr-migrate.service).
  const env = validateEnvironment(MigrateSettings, process.env);
  const secrets = await resolveSecrets(env);
  const dataSource = new DataSource({
    ...buildDataSourceOptions(env, secrets, { poolSize: 2, applicationName: 'cyphr-migrate' }),
  });
  await dataSource.initialize();
  try {
    const applied = await runMigrations(dataSource);
    console.log(applied.length === 0 ? 'migrate: schema is up to date' : `migrate: applied ${applied.join(', ')}`);
  } finally {
    await dataSource.destroy();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
