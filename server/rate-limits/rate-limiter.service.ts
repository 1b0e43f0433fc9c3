import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { RedisKeys } from '../../common/redis/keys';
import { ServerConfig } from '../config/server-config';
import { RedisService } from '../infrastructure/redis.service';
import { RateLimitName } from './rate-limit-rules';

export interface Reservation {
  /** The hit took the count past the limit. */
  over: boolean;
  /** The 429 to throw for it. */
  refuse(): RateLimitedException;
  release(): Promise<void>;
}

export class RateLimitedException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      { message: `Too many requests; retry in ${retryAfterSeconds} s`, error: 'Too Many Requests' },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** One counter of a request: `hits` on `rule` for `subject`. */
export interface RateLimitHit {
  rule: RateLimitName;
  subject: string;
  hits?: number;
}

/**
 * INCRBY, and the window's expiry when this hit made the key: one command (not MULTI, INCRBY, EXPIRE, EXEC) per
 * counter. The key names its window, so setting the expiry once is enough.
 */
const COUNT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return count
`;

/**
 * Fixed-window counters in Redis (`ratelimit:{rule}:{subject}:{window}`, COUNT_SCRIPT), shared by every
 * instance. The counters of one request are sent in the same tick, so node-redis pipelines them: one round trip
 * (per shard) however many limits apply. When Redis cannot answer, the same windows are counted in this process
 * instead: the limit then holds per process (fail open to N × limit across N API processes rather than refuse
 * everyone, and never fail closed on a cache outage).
 */
@Injectable()
export class RateLimiter {
  private readonly local = new Map<string, { count: number; expiresAt: number }>();
  private lastSweep = 0;

  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly redis: RedisService,
  ) {}

  /**
   * Counts `hits` (one request, or the items one request carries) on `rule` for `subject`; throws
   * RateLimitedException (429) when that takes the window over the limit. A refused request stays counted.
   */
  async consume(rule: RateLimitName, subject: string, hits = 1): Promise<void> {
    await this.consumeAll([{ rule, subject, hits }]);
  }

  /**
   * Counts every hit in one round trip; throws for the first one (in the given order) that went over. All of them
   * stay counted, the refused ones too.
   */
  async consumeAll(hits: RateLimitHit[]): Promise<void> {
    const windows = hits.map(({ rule, subject }) => this.window(rule, subject));
    let counts: number[];
    try {
      counts = (await this.redis.run('rate limit', (redis) =>
        Promise.all(
          windows.map((window, i) =>
            redis.eval(COUNT_SCRIPT, window.key, [String(hits[i].hits ?? 1), String(window.windowSeconds + 1)]),
          ),
        ),
      )) as number[];
    } catch {
      counts = windows.map((window, i) =>
        this.countLocally(window.key, window.expiresAt, window.now, hits[i].hits ?? 1),
      );
    }
    const over = windows.findIndex((window, i) => Number(counts[i]) > window.limit);
    if (over >= 0) throw new RateLimitedException(windows[over].retryAfterSeconds);
  }

  /**
   * Counts a hit that may be taken back (`release`), e.g. a login attempt that only counts if it fails.
   * Counting first and releasing later, rather than checking first and counting after, keeps concurrent
   * attempts within the limit: each one holds its place while the password is checked.
   */
  async reserve(rule: RateLimitName, subject: string): Promise<Reservation> {
    const hit = await this.hit(rule, subject);
    return {
      over: hit.count > hit.limit,
      refuse: () => new RateLimitedException(hit.retryAfterSeconds),
      release: () => this.release(hit.key, hit.expiresAt),
    };
  }

  /** Whether `subject` is already over `rule` in the current window; counts nothing. */
  async isOver(rule: RateLimitName, subject: string): Promise<boolean> {
    const { key } = this.window(rule, subject);
    try {
      return (
        Number(await this.redis.run('rate limit', (redis) => redis.get(key))) >= this.config.rateLimits[rule].limit
      );
    } catch {
      return (this.local.get(key)?.count ?? 0) >= this.config.rateLimits[rule].limit;
    }
  }

  private window(rule: RateLimitName, subject: string) {
    const { limit, windowSeconds } = this.config.rateLimits[rule];
    const now = Date.now();
    const window = Math.floor(now / (windowSeconds * 1000));
    return {
      key: RedisKeys.rateLimit(rule, `${subject}:${window}`),
      limit,
      windowSeconds,
      now,
      expiresAt: now + windowSeconds * 1000,
      retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * windowSeconds * 1000 - now) / 1000)),
    };
  }

  private async hit(rule: RateLimitName, subject: string, hits = 1) {
    const window = this.window(rule, subject);
    let count: number;
    try {
      count = Number(
        await this.redis.run('rate limit', (redis) =>
          redis.eval(COUNT_SCRIPT, window.key, [String(hits), String(window.windowSeconds + 1)]),
        ),
      );
    } catch {
      count = this.countLocally(window.key, window.expiresAt, window.now, hits);
    }
    return { ...window, count };
  }

  /** Takes one hit back from the window it was counted in (the key names the window, so a late release is harmless). */
  private async release(key: string, expiresAt: number): Promise<void> {
    const seconds = Math.max(1, Math.ceil((expiresAt - Date.now()) / 1000) + 1);
    try {
      await this.redis.run('rate limit', (redis) => redis.transaction(key).decr().expire(seconds).exec());
    } catch {
      const entry = this.local.get(key);
      if (entry) entry.count = Math.max(0, entry.count - 1);
    }
  }

  private countLocally(key: string, expiresAt: number, now: number, hits: number): number {
    if (now - this.lastSweep > 10_000) {
      for (const [k, entry] of this.local) if (entry.expiresAt <= now) this.local.delete(k);
      this.lastSweep = now;
    }
    const entry = this.local.get(key) ?? { count: 0, expiresAt };
    entry.count += hits;
    this.local.set(key, entry);
    return entry.count;
  }
}
