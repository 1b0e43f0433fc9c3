/**
 * What this process read from the shared cache a moment ago, kept for `ttlMs` so a burst of requests for one key
 * costs one Redis round trip instead of one each. For answers that must not stay stale: entries are dropped when
 * an invalidation is heard (`forget`), and `ttlMs` bounds how long a missed invalidation can matter.
 *
 * A fill races with an invalidation when the value was read before it and arrives after: `begin()` before the read
 * and `set(key, value, ticket)` after it, and the value is not kept if anything was forgotten in between.
 */
export class ShortLivedCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private epoch = 0;

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** A ticket for a read about to start; hand it to `set`. */
  begin(): number {
    return this.epoch;
  }

  set(key: string, value: V, ticket: number, now = Date.now()): void {
    if (ticket !== this.epoch) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until: now + this.ttlMs });
  }

  forget(keys: Iterable<string>): void {
    this.epoch++;
    for (const key of keys) this.entries.delete(key);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }
}
