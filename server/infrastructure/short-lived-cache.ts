/** Taken before a read that will fill the cache: what was forgotten since, and when the read began. */
export interface FillTicket {
  epoch: number;
  startedAt: number;
}

/**
 * What this process read from the shared cache a moment ago, kept for `ttlMs` so a burst of requests for one key
 * costs one Redis round trip instead of one each. For answers that must not stay stale: entries are dropped when
 * an invalidation is heard (`forget`), and `ttlMs` bounds how long a missed invalidation can matter.
 *
 * A fill races with an invalidation when the value was read before it and arrives after: `begin()` before the read
 * and `set(key, value, ticket)` after it, and the value is not kept if anything was forgotten in between. Its time
 * counts from when the read began, so a slow read cannot stretch the bound.
 *
 * Memory: expired entries are dropped as new ones arrive (entries are kept in the order they expire), and
 * `maxEntries` caps what a burst of distinct keys can hold.
 */
export class ShortLivedCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private epoch = 0;

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** A ticket for a read about to start; hand it to `set`. */
  begin(now = Date.now()): FillTicket {
    return { epoch: this.epoch, startedAt: now };
  }

  set(key: string, value: V, ticket: FillTicket, now = Date.now()): void {
    if (ticket.epoch !== this.epoch) return;
    const until = ticket.startedAt + this.ttlMs;
    if (until <= now) return;
    this.dropExpired(now);
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until });
  }

  forget(keys: Iterable<string>): void {
    this.epoch++;
    for (const key of keys) this.entries.delete(key);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  /** From the oldest: every entry is kept for the same time, so the first one still valid ends the sweep. */
  private dropExpired(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.until > now) return;
      this.entries.delete(key);
    }
  }
}
