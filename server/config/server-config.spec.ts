import { parseTrustProxy } from './server-config';

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
