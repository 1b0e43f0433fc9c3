import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Refresh tokens: `<sessionId>.<generation>.<secret>`, opaque to clients. Only the SHA-256 of a token is stored.
 * Each refresh answers the next generation and spends the presented one; presenting an older generation again means
 * two parties hold the device's tokens (one of them stole it), so the device is removed.
 */
export interface RefreshTokenParts {
  sessionId: string;
  generation: number;
  /** SHA-256 of the whole token, as stored. */
  hash: Buffer;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN = /^([0-9a-f-]{36})\.(\d{1,9})\.([A-Za-z0-9_-]{43})$/;

export const hashRefreshToken = (token: string): Buffer => createHash('sha256').update(token).digest();

export function issueRefreshToken(sessionId: string, generation: number): { token: string; hash: Buffer } {
  const token = `${sessionId}.${generation}.${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

/** undefined for anything that is not a refresh token's shape. */
export function parseRefreshToken(token: string): RefreshTokenParts | undefined {
  const match = TOKEN.exec(token);
  if (!match || !UUID.test(match[1])) return undefined;
  return { sessionId: match[1], generation: Number(match[2]), hash: hashRefreshToken(token) };
}

export const sameHash = (a: Buffer | null | undefined, b: Buffer): boolean =>
  !!a && a.length === b.length && timingSafeEqual(a, b);
