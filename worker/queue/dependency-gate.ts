import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';

export interface DependencyGateOptions {
  /** What the consumers wait for ("primary"): logs, the metric label, readiness. */
  dependency: string;
  /** Resolves when the dependency answers (the primary: a query that also checks it takes writes). */
  probe: () => Promise<unknown>;
  /** Probes start 1 s after the pause and back off, doubling, up to this. */
  maxProbeIntervalMs: number;
  logger: WorkerLogger;
  metrics: WorkerMetrics;
}

/** 1 s, 2 s, 4 s ... capped at `maxMs`. */
export const probeDelayMs = (attempt: number, maxMs: number) => Math.min(maxMs, 1_000 * 2 ** attempt);

/**
 * Open while a dependency every message needs answers; paused from the first failure that says it is
 * unreachable until a probe answers again. Consumer loops wait on it before each receive, so while the
 * primary is down nothing is received and no message's receive count grows toward the DLQ.
 */
export class DependencyGate {
  private reopened: { promise: Promise<void>; resolve: () => void } | undefined;
  private pausedSince = 0;
  private closed = false;

  constructor(private readonly options: DependencyGateOptions) {
    options.metrics.consumersPaused.set({ dependency: options.dependency }, 0);
  }

  get dependency(): string {
    return this.options.dependency;
  }

  get paused(): boolean {
    return this.reopened !== undefined;
  }

  /** Resolves at once when open; while paused, when a probe answers or the gate is closed. */
  wait(): Promise<void> {
    return this.reopened?.promise ?? Promise.resolve();
  }

  /** Idempotent: the first caller starts probing, later ones (other loops failing the same way) join it. */
  pause(error: Error): void {
    if (this.reopened || this.closed) return;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    this.reopened = { promise, resolve };
    this.pausedSince = Date.now();
    const { dependency, metrics, logger } = this.options;
    metrics.consumersPaused.set({ dependency }, 1);
    metrics.pauses.inc({ dependency });
    logger.warn({ dependency, err: error }, `${dependency} unreachable: consumers paused until it answers`);
    void this.probeUntilAnswered();
  }

  /** Shutdown: stops probing and lets every waiter go (the pools release what they hold). */
  close(): void {
    this.closed = true;
    this.open();
  }

  private open(): void {
    const reopened = this.reopened;
    if (!reopened) return;
    this.reopened = undefined;
    this.options.metrics.consumersPaused.set({ dependency: this.options.dependency }, 0);
    reopened.resolve();
  }

  private async probeUntilAnswered(): Promise<void> {
    const { dependency, probe, maxProbeIntervalMs, logger } = this.options;
    for (let attempt = 0; !this.closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, probeDelayMs(attempt, maxProbeIntervalMs)).unref());
      if (this.closed) return;
      try {
        await probe();
      } catch (error) {
        logger.debug({ dependency, attempt, err: error }, 'probe failed; still paused');
        continue;
      }
      logger.info({ dependency, pausedMs: Date.now() - this.pausedSince }, `${dependency} answers: consumers resume`);
      this.open();
      return;
    }
  }
}
