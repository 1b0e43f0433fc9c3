/**
 * HTTP to the API through the global `fetch`, with the device's tokens. Refresh tokens ROTATE and presenting a spent
 * one removes the device, so: one refresh at a time (concurrent callers share it), the new pair is persisted before
 * anything uses it, and a refresh is never retried with a token already sent.
 */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import { fromBase64, utf8Decode } from '../crypto/bytes';
import { ClientStateError, HttpError } from './errors';

const TOKENS_KEY = 'auth/tokens';
/** Refresh this long before the access token expires, so a request never races its expiry. */
const EXPIRY_MARGIN_MS = 30_000;

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

export interface RequestOptions {
  /** Send without a token (register, login, refresh). @default false */
  anonymous?: boolean;
}

/** The access token's `exp` (ms since the epoch), read without verifying: only to schedule refreshes. */
export function accessTokenExpiry(accessToken: string): number | undefined {
  try {
    const payload = accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = payload + '='.repeat((4 - (payload.length % 4)) % 4);
    const exp = (JSON.parse(utf8Decode(fromBase64(padded))) as { exp?: number }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class Transport {
  private tokens: Tokens | undefined;
  private refreshing: Promise<Tokens> | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly store: KeyValueStore,
    private readonly fetchImpl: typeof fetch,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<void> {
    this.tokens = await getJson<Tokens>(this.store, TOKENS_KEY);
  }

  get hasTokens(): boolean {
    return this.tokens !== undefined;
  }

  /** Stores a pair answered by register, login or refresh. */
  async setTokens(tokens: Tokens): Promise<void> {
    await putJson(this.store, TOKENS_KEY, tokens);
    this.tokens = tokens;
  }

  /** A usable access token, refreshing first when it is about to expire. */
  async accessToken(): Promise<string> {
    if (!this.tokens) throw new ClientStateError('not signed in: register or login first');
    const expiry = accessTokenExpiry(this.tokens.accessToken);
    if (expiry !== undefined && expiry - EXPIRY_MARGIN_MS <= this.now()) return (await this.refresh()).accessToken;
    return this.tokens.accessToken;
  }

  /**
   * Rotates the refresh token. Concurrent callers share one request; the answer is persisted before it is used.
   * `spentAccessToken`: the token a caller saw refused; if another refresh already replaced it, that one is used.
   */
  refresh(spentAccessToken?: string): Promise<Tokens> {
    if (this.refreshing) return this.refreshing;
    if (this.tokens && spentAccessToken !== undefined && this.tokens.accessToken !== spentAccessToken) {
      return Promise.resolve(this.tokens);
    }
    const current = this.tokens;
    if (!current) return Promise.reject(new ClientStateError('not signed in: register or login first'));
    this.refreshing = (async () => {
      try {
        const answer = await this.send<Tokens>('POST', '/v1/auth/refresh', { refreshToken: current.refreshToken });
        const next = { accessToken: answer.accessToken, refreshToken: answer.refreshToken };
        await this.setTokens(next);
        return next;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** A request with the device's token; a 401 refreshes once and repeats. Throws HttpError on other failures. */
  async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    if (options.anonymous) return this.send<T>(method, path, body);
    const token = await this.accessToken();
    try {
      return await this.send<T>(method, path, body, token);
    } catch (e) {
      if (!(e instanceof HttpError) || e.status !== 401) throw e;
      const fresh = await this.refresh(token);
      return this.send<T>(method, path, body, fresh.accessToken);
    }
  }

  private async send<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      const reason = (parsed as { message?: unknown } | undefined)?.message;
      const routePath = path.split('?')[0];
      throw new HttpError(
        response.status,
        Array.isArray(reason) ? reason.join('; ') : String(reason ?? text),
        method,
        routePath,
      );
    }
    return parsed as T;
  }
}
