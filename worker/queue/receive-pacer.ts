/**
 * A received message sent longer ago than this had waited on the queue: the worker is behind, so receive eagerly.
 * Three gather windows (a message that arrived just after a receive waits one gather and a round trip), never under
 * 60 ms, far above the clock skew between SQS and an NTP-synced instance (well under a millisecond with Amazon Time
 * Sync). Tied to the gather: with a fixed age below it, every message gathered early in a window would read as a
 * backlog and switch the gathering off.
 */
export const backlogAgeMs = (gatherMs: number): number => Math.max(60, 3 * gatherMs);

/**
 * How many of a pool's loops may be waiting on ReceiveMessage at once, adapted to what receives return.
 *
 * Every receive costs the same (a signed HTTPS request, and a delete after it) whether it brings one message or
 * ten. Under a backlog, receives come back full, or bring messages that already waited on the queue: more
 * concurrent polls, up to one per loop, and no waiting. At moderate load, eight long polls split a trickle into
 * batches of one (or come back empty): each such receive lets one fewer poll wait, down to one, and the next
 * receive waits `gatherMs` so a few messages gather on the queue and one receive, one insert and one delete carry
 * them all. (A partial receive alone does not prove the queue is short: a FIFO queue hands out a locked group's
 * messages only after its batch is acknowledged, so a one-conversation backlog can come back one by one.)
 *
 * Only receiving is paced: a loop gives its permit back as soon as its receive returns, so batches are still
 * handled by up to `max` loops in parallel. Order and exactly-once storage are the queue's and the handler's,
 * untouched: this only decides when a loop calls ReceiveMessage.
 */
export class ReceivePacer {
  private allowed: number;
  private polling = 0;
  private gather = false;
  private closed = false;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly max: number,
    private readonly batchSize: number,
    private readonly gatherMs: number,
  ) {
    // Start as if busy: a worker started on a backlog drains it at full speed from the first receive.
    this.allowed = max;
  }

  /** Resolves when this loop may receive; call release() with what the receive returned. */
  async acquire(): Promise<void> {
    while (!this.closed && this.polling >= this.allowed) await new Promise<void>((wake) => this.waiting.push(wake));
    this.polling++;
    if (this.gather && this.gatherMs > 0 && !this.closed) {
      this.gather = false;
      await new Promise((resolve) => setTimeout(resolve, this.gatherMs).unref());
    }
  }

  /**
   * `received` undefined: the receive failed (no verdict on the load). `backlogged`: some of what it brought had
   * waited on the queue well beyond a gather window.
   */
  release(received?: number, backlogged = false): void {
    this.polling = Math.max(0, this.polling - 1);
    if (received !== undefined) {
      if (received >= this.batchSize || backlogged) {
        this.allowed = Math.min(this.max, this.allowed + 1);
        this.gather = false;
      } else {
        this.allowed = Math.max(1, this.allowed - 1);
        // Only after a small receive: one at least half full already shares its costs well, and waiting before
        // every receive would cap one loop at a batch per window. After an empty receive too: on SQS it waited
        // out its long poll (20 ms more is nothing); a server that wakes every waiting poll on each send would
        // otherwise turn each send into empty receives.
        this.gather = received <= this.batchSize / 2;
      }
    }
    this.wake();
  }

  /** Lets every waiting loop through (shutdown: they see the pool stopping). */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** How long a received message must have waited to count as a backlog (`backlogged` in release()). */
  get backlogAgeMs(): number {
    return backlogAgeMs(this.gatherMs);
  }

  /** Receives allowed at once now (tests, metrics). */
  get concurrency(): number {
    return this.allowed;
  }

  private wake(): void {
    let free = this.closed ? this.waiting.length : this.allowed - this.polling;
    while (free-- > 0 && this.waiting.length > 0) this.waiting.shift()!();
  }
}
