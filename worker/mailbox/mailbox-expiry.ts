import { DataSource, QueryRunner } from 'typeorm';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';

/**
 * One key for the whole fleet ('mail' in ASCII; within 2^53, so a JavaScript number carries it exactly): the
 * session-level advisory lock the purging instance holds. A crashed holder's connection closes and frees it.
 */
export const MAILBOX_PURGE_LOCK = 0x6d61696c;

/**
 * Rows per DELETE: each statement is its own short transaction on the expiry index, so it never holds many row
 * locks or a long snapshot, and acknowledgements running beside it are not held up.
 */
export const PURGE_BATCH_ROWS = 5_000;
/** A pass stops after this many statements (a backlog is worked off over several passes, not in one long run). */
export const PURGE_MAX_BATCHES = 200;

/**
 * No FOR UPDATE in the subquery: only the lock holder purges, and a row an acknowledgement deletes meanwhile is
 * simply not deleted twice (the DELETE re-checks it). The worker's role needs no UPDATE grant for it either.
 */
const PURGE_BATCH = `
  DELETE FROM device_messages WHERE id IN (
    SELECT id FROM device_messages WHERE expires_at <= now() ORDER BY expires_at LIMIT $1)`;

/**
 * The gauges. Pending is the statistics collector's live-row estimate (n_live_tup): it costs nothing and trails
 * the truth by the stats flush interval, which a dashboard does not notice; an exact count would scan the table.
 * The oldest pending row is the lowest seq (seq follows insertion, so stored_at with it), one step down the seq
 * index. Both count rows already expired but not yet purged: they are still work left to do.
 */
const MEASURE = `
  SELECT (SELECT coalesce(n_live_tup, 0) FROM pg_stat_user_tables WHERE relid = 'device_messages'::regclass)::float8
           AS pending,
         coalesce(extract(epoch FROM now() - (SELECT stored_at FROM device_messages ORDER BY seq LIMIT 1)), 0)::float8
           AS oldest_age`;

export interface MailboxExpiryOptions {
  intervalMs: number;
  metrics: WorkerMetrics;
  logger: WorkerLogger;
}

/**
 * Deletes device messages nobody acknowledged before they expired (expires_at = sent_at + MAILBOX_RETENTION_DAYS,
 * set by the worker when it stores them), on a schedule. Every worker instance runs the pass and measures the
 * mailbox gauges (so any instance's scrape is right), but only the one holding MAILBOX_PURGE_LOCK deletes.
 */
export class MailboxExpiry {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: MailboxExpiryOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.pass(), this.options.intervalMs);
    this.timer.unref();
    void this.pass();
  }

  /**
   * Stops scheduling and waits, at most `timeoutMs`, for a pass in progress to end (it checks between statements;
   * one stuck on an unreachable primary ends when the worker closes its connections).
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** One pass (purge if this instance gets the lock, then measure); a pass already running is not doubled. */
  pass(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.run()
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'mailbox expiry pass failed; next one retries'),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const runner = this.dataSource.createQueryRunner('master');
    try {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        MAILBOX_PURGE_LOCK,
      ])) as Array<{ locked: boolean }>;
      if (locked) {
        try {
          await this.purge(runner);
        } finally {
          await runner.query('SELECT pg_advisory_unlock($1)', [MAILBOX_PURGE_LOCK]);
        }
      }
      await this.measure(runner);
    } finally {
      await runner.release();
    }
  }

  private async purge(runner: QueryRunner): Promise<void> {
    for (let batch = 0; batch < PURGE_MAX_BATCHES && !this.stopping; batch++) {
      const result = (await runner.query(PURGE_BATCH, [PURGE_BATCH_ROWS], true)) as { affected?: number };
      const deleted = result.affected ?? 0;
      if (deleted > 0) this.options.metrics.mailboxPurged.inc(deleted);
      if (deleted < PURGE_BATCH_ROWS) return;
    }
  }

  private async measure(runner: QueryRunner): Promise<void> {
    const [row] = (await runner.query(MEASURE)) as Array<{ pending: number | null; oldest_age: number }>;
    this.options.metrics.mailboxPending.set(Math.max(0, Number(row.pending ?? 0)));
    this.options.metrics.mailboxOldestAge.set(Math.max(0, Number(row.oldest_age)));
  }
}
