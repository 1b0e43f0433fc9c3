import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, KeyObject } from 'node:crypto';
import { DEFAULT_KID, KeyringError, parseKeyring } from '../../common/config/jwt-keys';
import { ServerConfig } from '../config/server-config';

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

/** The stored keyring (common/config/jwt-keys.ts) as verification keys. */
export function loadKeyring(value: string, source?: string): JwtKey[] {
  return parseKeyring(value, source).map(({ kid, secret }) => ({ kid, key: createSecretKey(secret) }));
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
  /**
   * When a token's unknown kid last triggered a read. Only these count against UNKNOWN_KID_REFRESH_MS: were the
   * timer's reads counted too, a read shortly before a rotation (or a short refresh interval) would refuse the
   * new kid's tokens until the window passed.
   */
  private lastOnDemandReload = 0;
  private reloading?: Promise<void>;
  private readonly reload?: () => Promise<string>;

  constructor(
    private readonly jwt: JwtService,
    config: ServerConfig,
  ) {
    const { source, refreshSeconds } = config.jwt;
    this.reload = source.reload;
    this.keys = loadKeyring(source.value);
    this.byKid = new Map(this.keys.map((key) => [key.kid, key.key]));
    // The start-up read counts as one: a burst of forged kids right after start reads nothing.
    this.lastOnDemandReload = Date.now();
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
    if (!key && (this.reloading || (this.reload && Date.now() - this.lastOnDemandReload >= UNKNOWN_KID_REFRESH_MS))) {
      if (!this.reloading) this.lastOnDemandReload = Date.now();
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
      try {
        const keys = loadKeyring(await this.reload!(), 'JWT keyring (JWT_SECRET_ARN)');
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
