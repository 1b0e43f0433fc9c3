import type { DataSource } from 'typeorm';
import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { MAILBOX_PURGE_LOCK, MailboxExpiry, PURGE_BATCH_ROWS } from './mailbox-expiry';

/** A primary that answers the pass's statements: whether the lock is free, and how many rows each DELETE takes. */
function primary(locked: boolean, deletes: number[]) {
  const statements: string[] = [];
  let released = false;
  const runner = {
    query: async (sql: string, params: unknown[] = []) => {
      const text = sql.replace(/\s+/g, ' ').trim();
      statements.push(text.slice(0, 30));
      if (text.startsWith('SELECT pg_try_advisory_lock')) {
        expect(params).toEqual([MAILBOX_PURGE_LOCK]);
        return [{ locked }];
      }
      if (text.startsWith('DELETE')) return { affected: deletes.shift() ?? 0 };
      if (text.startsWith('SELECT (SELECT')) return [{ pending: 42, oldest_age: 90 }];
      return [];
    },
    release: async () => void (released = true),
  };
  const dataSource = { createQueryRunner: () => runner } as unknown as DataSource;
  return { dataSource, statements, released: () => released };
}

const expiry = (dataSource: DataSource, metrics: WorkerMetrics) =>
  new MailboxExpiry(dataSource, { intervalMs: 60_000, metrics, logger: createLogger('silent') });

describe('MailboxExpiry', () => {
  it('under the lock: deletes in bounded statements until one takes less than a batch, then unlocks and measures', async () => {
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    const db = primary(true, [PURGE_BATCH_ROWS, PURGE_BATCH_ROWS, 7]);
    await expiry(db.dataSource, metrics).pass();
    expect(db.statements.filter((s) => s.startsWith('DELETE'))).toHaveLength(3);
    expect(db.statements.some((s) => s.startsWith('SELECT pg_advisory_unlock'))).toBe(true);
    expect((await metrics.mailboxPurged.get()).values[0].value).toBe(2 * PURGE_BATCH_ROWS + 7);
    expect((await metrics.mailboxPending.get()).values[0].value).toBe(42);
    expect((await metrics.mailboxOldestAge.get()).values[0].value).toBe(90);
    expect(db.released()).toBe(true);
  });

  it('without the lock (another worker purges): deletes nothing, still measures', async () => {
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    const db = primary(false, [PURGE_BATCH_ROWS]);
    await expiry(db.dataSource, metrics).pass();
    expect(db.statements.filter((s) => s.startsWith('DELETE') || s.includes('unlock'))).toEqual([]);
    expect((await metrics.mailboxPending.get()).values[0].value).toBe(42);
  });

  it('does not run two passes at once', async () => {
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    const db = primary(true, []);
    const pass = expiry(db.dataSource, metrics);
    await Promise.all([pass.pass(), pass.pass()]);
    expect(db.statements.filter((s) => s.startsWith('SELECT pg_try_advisory_lock'))).toHaveLength(1);
  });
});
