import type { IncomingMessage } from 'node:http';
import { clientAddress, UpgradeRefused, upgradeToken } from './upgrade-request';

const request = (headers: Record<string, string>, remoteAddress = '10.0.0.5') =>
  ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;
const url = (path: string) => new URL(path, 'http://localhost');

describe('upgradeToken', () => {
  it('reads Authorization: Bearer, then the bearer.<token> subprotocol', () => {
    expect(upgradeToken(request({ authorization: 'Bearer abc' }), url('/v1/ws'))).toBe('abc');
    expect(upgradeToken(request({ 'sec-websocket-protocol': 'cyphr, bearer.xyz' }), url('/v1/ws'))).toBe('xyz');
    expect(upgradeToken(request({}), url('/v1/ws'))).toBeUndefined();
  });

  it('refuses a token in the URL with 400, whatever else the request carries', () => {
    for (const path of ['/v1/ws?token=abc', '/v1/ws?access_token=abc', '/v1/ws?x=1&token=']) {
      let refusal: unknown;
      try {
        upgradeToken(request({ authorization: 'Bearer abc' }), url(path));
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(UpgradeRefused);
      expect(refusal).toMatchObject({ status: 400, reason: 'token-in-url' });
    }
  });
});

describe('clientAddress', () => {
  const privateHops = (address: string) => address.startsWith('10.');

  it('is the peer when no proxy is trusted', () => {
    expect(clientAddress(request({ 'x-forwarded-for': '203.0.113.9' }), () => false)).toBe('10.0.0.5');
  });

  it('walks X-Forwarded-For back through trusted proxies only (a client cannot spoof past them)', () => {
    const forwarded = { 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.0.0.7' };
    expect(clientAddress(request(forwarded), privateHops)).toBe('203.0.113.9');
    expect(clientAddress(request(forwarded), (_address, hop) => hop < 2)).toBe('203.0.113.9');
    expect(clientAddress(request({ 'x-forwarded-for': '198.51.100.1' }), () => true)).toBe('198.51.100.1');
  });
});
