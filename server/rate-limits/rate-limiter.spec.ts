import type { ServerConfig } from '../config/server-config';
import type { RedisService } from '../infrastructure/redis.service';
import { DEFAULT_RATE_LIMITS } from './rate-limit-rules';
import { RateLimitedException, RateLimiter } from './rate-limiter.service';

/** With Redis unreachable the limiter counts in the process: the same rules must hold there. */
describe('RateLimiter without Redis', () => {
  const limiter = () =>
    new RateLimiter(
      { rateLimits: { ...DEFAULT_RATE_LIMITS, loginFailures: { limit: 2, windowSeconds: 60 } } } as ServerConfig,
      { run: () => Promise.reject(new Error('redis down')) } as unknown as RedisService,
    );

  it('lets a released reservation go uncounted, and refuses past the limit', async () => {
    const rates = limiter();
    const first = await rates.reserve('loginFailures', 'alice|10.0.0.1');
    expect(first.over).toBe(false);
    await first.release(); // a correct password: not a failure
    expect((await rates.reserve('loginFailures', 'alice|10.0.0.1')).over).toBe(false);
    expect((await rates.reserve('loginFailures', 'alice|10.0.0.1')).over).toBe(false);
    const third = await rates.reserve('loginFailures', 'alice|10.0.0.1');
    expect(third.over).toBe(true);
    expect(third.refuse()).toBeInstanceOf(RateLimitedException);
    expect(await rates.isOver('loginFailures', 'alice|10.0.0.1')).toBe(true);
    expect(await rates.isOver('loginFailures', 'alice|10.0.0.2')).toBe(false);
  });

  it('counts a request by the items it carries when told to', async () => {
    const rates = new RateLimiter(
      { rateLimits: { ...DEFAULT_RATE_LIMITS, deviceMessages: { limit: 1000, windowSeconds: 60 } } } as ServerConfig,
      { run: () => Promise.reject(new Error('redis down')) } as unknown as RedisService,
    );
    await rates.consume('deviceMessages', 'alice', 600);
    await rates.consume('deviceMessages', 'alice', 400);
    await expect(rates.consume('deviceMessages', 'alice', 1)).rejects.toBeInstanceOf(RateLimitedException);
    await rates.consume('deviceMessages', 'bob', 1000);
  });
});
