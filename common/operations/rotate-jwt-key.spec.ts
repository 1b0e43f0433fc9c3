import { randomBytes } from 'node:crypto';
import { DEFAULT_KID, formatKeyring, parseKeyring } from '../config/jwt-keys';
import { NEW_KEY_BYTES, newKid, rotatedKeyring } from './rotate-jwt-key';

const key = (kid: string) => ({ kid, secret: randomBytes(48) });

describe('rotatedKeyring', () => {
  it('puts a new 64-byte key first, keeps the signing key second and drops older ones', () => {
    const [signing, older] = [key('b'), key('a')];
    const { value, kid, previous } = rotatedKeyring(formatKeyring([signing, older]));
    const keys = parseKeyring(value);
    expect(keys.map((k) => k.kid)).toEqual([kid, 'b']);
    expect(previous).toBe('b');
    expect(keys[0].secret).toHaveLength(NEW_KEY_BYTES);
    expect(keys[1].secret.equals(signing.secret)).toBe(true);
  });

  it('keeps a plain single-key secret as the key `default`, with the same bytes', () => {
    const plain = 'p'.repeat(40);
    const keys = parseKeyring(rotatedKeyring(plain).value);
    expect(keys[1]).toEqual({ kid: DEFAULT_KID, secret: Buffer.from(plain) });
  });

  it('refuses to rotate a keyring it cannot read', () => {
    expect(() => rotatedKeyring('{"keys":[]}')).toThrow(/current keyring/);
  });

  it('names keys by time, unique within a minute', () => {
    const now = new Date('2026-11-30T04:24:59Z');
    expect(newKid(now)).toMatch(/^20261130T0424Z-[0-9a-f]{6}$/);
    expect(newKid(now)).not.toBe(newKid(now));
  });
});
