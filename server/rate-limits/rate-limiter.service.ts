import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { RedisKeys } from '../../common/redis/keys';
import { ServerConfig } from '../config/server-config';
import { RedisService } from '../infrastructure/redis.service';
import { RateLimitName } from './rate-limit-rules';

export class RateLimitedException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      { message: `Too many requests; retry in ${retryAfterSeconds} s`, error: 'Too Many Requests' },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * Fixed-window counters in Redis (`ratelimit:{rule}:{subject}:{window}`; INCR + EXPIRE in one MULTI), shared
 * by every instance. When Redis cannot answer, the same windows are counted in this process instead: the
 * limit then holds per instance (fail open to N × limit across N instances rather than refuse everyone, and
 * never fail closed on a cache outage).
 */
@Injectable()
export class RateLimiter {
  private readonly local = new Map<string, { count: number; expiresAt: number }>();
  private lastSweep = 0;

  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly redis: RedisService,
  ) {}

  /** Counts one hit on `rule` for `subject`; throws RateLimitedException (429) over the limit. */
  async consume(rule: RateLimitName, subject: string): Promise<void> {
    const { limit, windowSeconds } = this.config.rateLimits[rule];
    const now = Date.now();
    const window = Math.floor(now / (windowSeconds * 1000));
    const key = RedisKeys.rateLimit(rule, `${subject}:${window}`);
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * windowSeconds * 1000 - now) / 1000));
    let count: number;
    try {
      const [hits] = (await this.redis.run('rate limit', (redis) =>
        redis
          .transaction(key)
          .incr()
          .expire(windowSeconds + 1)
          .exec(),
      )) as [number];
      count = Number(hits);
    } catch {
      count = this.countLocally(key, now + windowSeconds * 1000, now);
    }
    if (count > limit) throw new RateLimitedException(retryAfterSeconds);
  }

  private countLocally(key: string, expiresAt: number, now: number): number {
    if (now - this.lastSweep > 10_000) {
      for (const [k, entry] of this.local) if (entry.expiresAt <= now) this.local.delete(k);
      this.lastSweep = now;
    }
    const entry = this.local.get(key) ?? { count: 0, expiresAt };
    entry.count += 1;
    this.local.set(key, entry);
    return entry.count;
  }
}
