import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** pg_ctl from PATH or the Debian layout, as scripts/services/postgres.sh finds it. */
function pgCtl(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'pg_ctl'))) return join(dir, 'pg_ctl');
  }
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort().reverse() : [];
  for (const version of versions) {
    const candidate = join('/usr/lib/postgresql', version, 'bin', 'pg_ctl');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('pg_ctl not found');
}

/**
 * The local services' PostgreSQL primary (scripts/services.sh, `.local/postgres/primary`), stopped and started
 * the way an outage or a failover would take it away: tests that need the database to disappear use this.
 * PostgreSQL runs as its own OS user when the tests run as root, so pg_ctl does too.
 */
export class LocalPrimary {
  constructor(private readonly dataDir = join(ROOT, '.local', 'postgres', 'primary')) {}

  /** Fast shutdown: open sessions are terminated (57P01), new connections refused. */
  stop(): Promise<void> {
    return this.pgCtl(['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  start(): Promise<void> {
    return this.pgCtl(['-D', this.dataDir, '-l', join(this.dataDir, 'server.log'), '-w', '-t', '30', 'start']);
  }

  private async pgCtl(args: string[]): Promise<void> {
    const binary = pgCtl();
    if (process.getuid?.() !== 0) {
      await run(binary, args);
      return;
    }
    const { stdout } = await run('id', ['-nu', String(statSync(this.dataDir).uid)]);
    await run('runuser', ['-u', stdout.trim(), '--', binary, ...args]);
  }
}
