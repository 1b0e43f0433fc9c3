/**
 * The JWT keyring's stored format, shared by the API (server/auth/jwt-keyring.ts) and the rotation tool
 * (common/operations/rotate-jwt-key.ts): JSON `{"keys":[{"kid","secret"}]}` with base64url secrets, keys[0] signs,
 * every key verifies. A plain (non-JSON) string is one key named `default`, its UTF-8 bytes the key, as the
 * single-key secret (and JWT_SECRET locally) always was.
 */

/** HS256 wants at least the hash's size in key material (RFC 7518 §3.2). */
export const MIN_KEY_BYTES = 32;
export const DEFAULT_KID = 'default';
const KID = /^[\w.-]{1,64}$/;

export interface JwtKeyBytes {
  kid: string;
  secret: Buffer;
}

export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

/** Parses and checks a keyring: at least one key, unique kids, at least 32 bytes per key. */
export function parseKeyring(value: string, source = 'JWT keyring'): JwtKeyBytes[] {
  const trimmed = value.trim();
  if (!trimmed.startsWith('{')) {
    const secret = Buffer.from(value, 'utf8');
    if (secret.length < MIN_KEY_BYTES) throw new KeyringError(`${source}: the secret must be at least 32 bytes`);
    return [{ kid: DEFAULT_KID, secret }];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new KeyringError(`${source}: not valid JSON`);
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeyringError(`${source}: "keys" must be a non-empty array`);
  const seen = new Set<string>();
  return keys.map((entry: unknown, index) => {
    const { kid, secret } = (entry ?? {}) as { kid?: unknown; secret?: unknown };
    if (typeof kid !== 'string' || !KID.test(kid))
      throw new KeyringError(`${source}: keys[${index}].kid must be 1-64 characters of [A-Za-z0-9_.-]`);
    if (seen.has(kid)) throw new KeyringError(`${source}: kid ${kid} appears twice`);
    seen.add(kid);
    if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(secret))
      throw new KeyringError(`${source}: keys[${index}].secret must be base64url`);
    const bytes = Buffer.from(secret, 'base64url');
    if (bytes.length < MIN_KEY_BYTES)
      throw new KeyringError(`${source}: key ${kid} has ${bytes.length} bytes; at least 32 are required`);
    return { kid, secret: bytes };
  });
}

export function formatKeyring(keys: JwtKeyBytes[]): string {
  return JSON.stringify({ keys: keys.map(({ kid, secret }) => ({ kid, secret: secret.toString('base64url') })) });
}
