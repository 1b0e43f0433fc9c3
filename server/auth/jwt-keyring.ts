import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, KeyObject } from 'node:crypto';
import { ServerConfig } from '../config/server-config';

/** HS256 wants at least the hash's size in key material (RFC 7518 §3.2). */
export const MIN_KEY_BYTES = 32;
/** The key id of a plain (non-JSON) secret: JWT_SECRET locally, or a legacy single-key secret. */
export const DEFAULT_KID = 'default';
/** An unknown kid re-reads the keyring at most this often, so forged kids cannot hammer Secrets Manager. */
export const UNKNOWN_KID_REFRESH_MS = 5_000;

export interface JwtKey {
  kid: string;
  /**
   * A KeyObject, not the bytes: given a string or Buffer, jsonwebtoken first tries to parse it as a PEM public key
   * (createPublicKey throws) on every verify, which was ~20 % of the API's CPU on the send path.
   */
  key: KeyObject;
}

export class KeyringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

/**
 * Parses a keyring value: JSON `{"keys":[{"kid","secret"}]}` with base64url secrets (first signs, every key
 * verifies), or a plain string taken as one key `default` (its UTF-8 bytes, as the single-key secret always was).
 * Every key must carry at least 32 bytes; kids must be unique.
 */
export function parseKeyring(value: string, source = 'JWT keyring'): JwtKey[] {
  const trimmed = value.trim();
  if (!trimmed.startsWith('{')) {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length < MIN_KEY_BYTES) throw new KeyringError(`${source}: the secret must be at least 32 bytes`);
    return [{ kid: DEFAULT_KID, key: createSecretKey(bytes) }];
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
    if (typeof kid !== 'string' || !/^[\w.-]{1,64}$/.test(kid))
      throw new KeyringError(`${source}: keys[${index}].kid must be 1-64 characters of [A-Za-z0-9_.-]`);
    if (seen.has(kid)) throw new KeyringError(`${source}: kid ${kid} appears twice`);
    seen.add(kid);
    if (typeof secret !== 'string' || !/^[A-Za-z0-9_-]+={0,2}$/.test(secret))
      throw new KeyringError(`${source}: keys[${index}].secret must be base64url`);
    const bytes = Buffer.from(secret, 'base64url');
    if (bytes.length < MIN_KEY_BYTES)
      throw new KeyringError(`${source}: key ${kid} has ${bytes.length} bytes; at least 32 are required`);
    return { kid, key: createSecretKey(bytes) };
  });
}

/** The kid in a token's header without verifying anything; undefined when absent or not a JWT. */
export function tokenKid(token: string): string | undefined {
  const header = token.split('.', 1)[0];
  try {
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The API's access-token keys. keys[0] signs and names itself in the token header (`kid`); every key in the ring
 * verifies. With JWT_SECRET_ARN the ring is re-read every JWT_KEYS_REFRESH_SECONDS, and at once (at most every
 * 5 s) when a token names a kid this instance does not know: after a rotation, the instance that refreshed first
 * signs with the new key, and the others must accept those tokens before their own timer fires. A rotation keeps
 * the previous key second, so tokens signed before it stay valid until they expire: nobody is logged out.
 * A failed re-read keeps the keys already loaded (logged), so a Secrets Manager hiccup logs nobody out either.
 */
@Injectable()
export class JwtKeyring implements OnApplicationShutdown {
  private readonly logger = new Logger(JwtKeyring.name);
  private keys: JwtKey[];
  private byKid: Map<string, KeyObject>;
  private timer?: NodeJS.Timeout;
  private lastReload = 0;
  private reloading?: Promise<void>;
  private readonly reload?: () => Promise<string>;

  constructor(
    private readonly jwt: JwtService,
    config: ServerConfig,
  ) {
    const { source, refreshSeconds } = config.jwt;
    this.reload = source.reload;
    this.keys = parseKeyring(source.value);
    this.byKid = new Map(this.keys.map((key) => [key.kid, key.key]));
    this.lastReload = Date.now();
    if (this.reload) {
      this.timer = setInterval(() => void this.refresh(), refreshSeconds * 1000);
      this.timer.unref();
    }
  }

  /** The kid that signs now. */
  get signingKid(): string {
    return this.keys[0].kid;
  }

  get kids(): string[] {
    return this.keys.map((key) => key.kid);
  }

  async sign(payload: object): Promise<string> {
    const [{ kid, key }] = this.keys;
    return this.jwt.signAsync(payload, { privateKey: key, keyid: kid });
  }

  /** Verifies signature and expiry with the key the token names (a token without kid names `default`). */
  async verify<T extends object>(token: string): Promise<T> {
    const kid = tokenKid(token) ?? DEFAULT_KID;
    let key = this.byKid.get(kid);
    if (!key && (this.reloading || (this.reload && Date.now() - this.lastReload >= UNKNOWN_KID_REFRESH_MS))) {
      await this.refresh();
      key = this.byKid.get(kid);
    }
    if (!key) throw new KeyringError(`unknown key id ${kid}`);
    return this.jwt.verifyAsync<T>(token, { publicKey: key as unknown as Buffer });
  }

  /** Re-reads the keyring; concurrent callers share one read. */
  refresh(): Promise<void> {
    if (!this.reload) return Promise.resolve();
    return (this.reloading ??= (async () => {
      this.lastReload = Date.now();
      try {
        const keys = parseKeyring(await this.reload!(), 'JWT keyring (JWT_SECRET_ARN)');
        const before = this.signingKid;
        this.keys = keys;
        this.byKid = new Map(keys.map((key) => [key.kid, key.key]));
        if (before !== this.signingKid) this.logger.log(`JWT signing key is now ${this.signingKid}`);
      } catch (error) {
        this.logger.error(`JWT keyring refresh failed, keeping ${this.kids.join(', ')}: ${(error as Error).message}`);
      } finally {
        this.reloading = undefined;
      }
    })());
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
