import { Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createHmac, randomBytes } from 'node:crypto';
import type { ServerConfig } from '../config/server-config';
import { DEFAULT_KID, formatKeyring, KeyringError } from '../../common/config/jwt-keys';
import { JwtKeyring, loadKeyring as parseKeyring, tokenKid, UNKNOWN_KID_REFRESH_MS } from './jwt-keyring';

const secret = (bytes = 64) => randomBytes(bytes).toString('base64url');
const ring = (...keys: Array<{ kid: string; secret: string }>) => JSON.stringify({ keys });
const jwt = () =>
  new JwtService({ signOptions: { algorithm: 'HS256', expiresIn: 60 }, verifyOptions: { algorithms: ['HS256'] } });
const keyring = (value: string, reload?: () => Promise<string>) =>
  new JwtKeyring(jwt(), { jwt: { source: { value, reload }, refreshSeconds: 300, ttlSeconds: 60 } } as ServerConfig);

beforeAll(() => Logger.overrideLogger(false));

describe('parseKeyring', () => {
  it('reads a JSON keyring in order, first key first', () => {
    const keys = parseKeyring(ring({ kid: 'k2', secret: secret() }, { kid: 'k1', secret: secret(32) }));
    expect(keys.map((key) => key.kid)).toEqual(['k2', 'k1']);
    expect(keys[1].key.symmetricKeySize).toBe(32);
  });

  it('takes a plain string as one key named default, its UTF-8 bytes as the key', () => {
    const [key] = parseKeyring('x'.repeat(40));
    expect(key.kid).toBe(DEFAULT_KID);
    expect(key.key.export().toString()).toBe('x'.repeat(40));
  });

  it('formats what it parses', () => {
    const value = ring({ kid: 'a', secret: secret() }, { kid: 'b', secret: secret(48) });
    expect(formatKeyring(parseKeyring(value).map(({ kid, key }) => ({ kid, secret: key.export() })))).toBe(value);
  });

  it.each([
    ['a short plain secret', 'x'.repeat(31), /at least 32 bytes/],
    ['a short key by ARN', ring({ kid: 'a', secret: secret(31) }), /key a has 31 bytes/],
    ['no keys', ring(), /non-empty array/],
    ['broken JSON', '{"keys": [', /not valid JSON/],
    ['a duplicate kid', ring({ kid: 'a', secret: secret() }, { kid: 'a', secret: secret() }), /appears twice/],
    ['a kid with spaces', ring({ kid: 'a b', secret: secret() }), /kid must be/],
    ['a secret that is not base64url', ring({ kid: 'a', secret: 'a+b/'.repeat(20) }), /base64url/],
  ])('refuses %s', (_name, value, message) => {
    expect(() => parseKeyring(value)).toThrow(KeyringError);
    expect(() => parseKeyring(value)).toThrow(message);
  });
});

describe('JwtKeyring', () => {
  it('signs with the first key, names it in the header, and the signature is HS256 over that key', async () => {
    const first = secret();
    const token = await keyring(ring({ kid: 'new', secret: first }, { kid: 'old', secret: secret() })).sign({
      sub: 'u',
    });
    const [header, payload, signature] = token.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'new' });
    const expected = createHmac('sha256', Buffer.from(first, 'base64url'))
      .update(`${header}.${payload}`)
      .digest('base64url');
    expect(signature).toBe(expected);
    expect(tokenKid(token)).toBe('new');
  });

  it('verifies with whichever key the token names', async () => {
    const old = { kid: 'old', secret: secret() };
    const before = await keyring(ring(old)).sign({ sub: 'u' });
    const rotated = keyring(ring({ kid: 'new', secret: secret() }, old));
    await expect(rotated.verify(before)).resolves.toMatchObject({ sub: 'u' });
  });

  it('refuses a token whose kid is known but whose signature is another key', async () => {
    const forged = await keyring(ring({ kid: 'a', secret: secret() })).sign({ sub: 'u' });
    await expect(keyring(ring({ kid: 'a', secret: secret() })).verify(forged)).rejects.toThrow(/invalid signature/);
  });

  it('re-reads the keyring at once for an unknown kid, at most every 5 s', async () => {
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const old = { kid: 'old', secret: secret() };
      const next = { kid: 'next', secret: secret() };
      let current = ring(old);
      const reload = jest.fn(async () => current);
      const lagging = keyring(current, reload);
      current = ring(next, old);
      const fromNewer = await keyring(current).sign({ sub: 'u' });

      // Loaded just now: an unknown kid does not trigger a read yet.
      await expect(lagging.verify(fromNewer)).rejects.toThrow(/unknown key id next/);
      expect(reload).not.toHaveBeenCalled();

      jest.advanceTimersByTime(UNKNOWN_KID_REFRESH_MS);
      const [a, b] = await Promise.all([lagging.verify(fromNewer), lagging.verify(fromNewer)]);
      expect(a).toMatchObject({ sub: 'u' });
      expect(b).toMatchObject({ sub: 'u' });
      expect(reload).toHaveBeenCalledTimes(1);
      expect(lagging.signingKid).toBe('next');

      const forged = await keyring(ring({ kid: 'nobody', secret: secret() })).sign({ sub: 'u' });
      await expect(lagging.verify(forged)).rejects.toThrow(/unknown key id nobody/);
      expect(reload).toHaveBeenCalledTimes(1);
      lagging.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('accepts a new kid at once even when the timer read the keyring just before the rotation', async () => {
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const old = { kid: 'old', secret: secret() };
      let current = ring(old);
      const reload = jest.fn(async () => current);
      const lagging = keyring(current, reload);
      jest.advanceTimersByTime(UNKNOWN_KID_REFRESH_MS);
      await lagging.refresh(); // the timer's read, a moment before an operator rotates
      current = ring({ kid: 'next', secret: secret() }, old);
      const fromNewer = await keyring(current).sign({ sub: 'u' });
      await expect(lagging.verify(fromNewer)).resolves.toMatchObject({ sub: 'u' });
      expect(reload).toHaveBeenCalledTimes(2);
      lagging.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps its keys when a re-read fails or returns a bad keyring', async () => {
    const key = { kid: 'k', secret: secret() };
    const reload = jest
      .fn<Promise<string>, []>()
      .mockRejectedValueOnce(new Error('throttled'))
      .mockResolvedValueOnce('short');
    const keys = keyring(ring(key), reload);
    await keys.refresh();
    await keys.refresh();
    expect(keys.kids).toEqual(['k']);
    keys.onApplicationShutdown();
  });
});
