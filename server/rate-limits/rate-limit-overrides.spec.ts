import { DEFAULT_RATE_LIMITS, withRateLimitOverrides } from './rate-limit-rules';

describe('withRateLimitOverrides', () => {
  it('keeps the defaults when nothing is set', () => {
    expect(withRateLimitOverrides(undefined)).toEqual(DEFAULT_RATE_LIMITS);
    expect(withRateLimitOverrides('')).toEqual(DEFAULT_RATE_LIMITS);
  });

  it('replaces only the named limits', () => {
    const rules = withRateLimitOverrides('registerIp=500/3600, send=1000/60');
    expect(rules.registerIp).toEqual({ limit: 500, windowSeconds: 3600 });
    expect(rules.send).toEqual({ limit: 1000, windowSeconds: 60 });
    expect(rules.loginIp).toEqual(DEFAULT_RATE_LIMITS.loginIp);
  });

  it('accepts a renamed limit by its old name', () => {
    expect(withRateLimitOverrides('loginUsername=20/600').loginFailures).toEqual({ limit: 20, windowSeconds: 600 });
  });

  it('names RATE_LIMITS and every bad entry', () => {
    expect(() => withRateLimitOverrides('registerIp=5,nope=1/1,send=0/60')).toThrow(
      /RATE_LIMITS: "registerIp=5" is not name=limit\/windowSeconds; "nope" is not a rate limit .*; "send=0\/60" needs a limit and a window of at least 1/,
    );
  });
});
