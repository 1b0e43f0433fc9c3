import { DEFAULT_REALTIME_LIMITS, parseTrustProxy, withRealtimeLimitOverrides } from './server-config';

describe('parseTrustProxy', () => {
  it('trusts private ranges by default (the ALB, a local proxy)', () => {
    expect(parseTrustProxy(undefined)).toBe('loopback, linklocal, uniquelocal');
  });

  it('keeps a hop count as a number (CloudFront then the ALB: 2)', () => {
    expect(parseTrustProxy('2')).toBe(2);
  });

  it('passes address ranges through', () => {
    expect(parseTrustProxy('10.0.0.0/8')).toBe('10.0.0.0/8');
  });
});

describe('withRealtimeLimitOverrides', () => {
  it('keeps the documented defaults when nothing is set', () => {
    expect(withRealtimeLimitOverrides(undefined)).toEqual(DEFAULT_REALTIME_LIMITS);
    expect(DEFAULT_REALTIME_LIMITS).toMatchObject({ maxSocketsPerUser: 10, maxSocketsPerProcess: 20_000 });
  });

  it('replaces only the named limits', () => {
    expect(withRealtimeLimitOverrides('maxSocketsPerUser=3, maxBufferedBytes=65536')).toEqual({
      ...DEFAULT_REALTIME_LIMITS,
      maxSocketsPerUser: 3,
      maxBufferedBytes: 65_536,
    });
  });

  it('names REALTIME_LIMITS and every bad entry', () => {
    expect(() => withRealtimeLimitOverrides('maxSocketsPerUser=x,nope=1,heartbeatMs=0')).toThrow(
      /REALTIME_LIMITS: "maxSocketsPerUser=x" is not name=value .*; "nope=1" is not .*; "heartbeatMs=0" needs a value of at least 1/,
    );
  });
});
