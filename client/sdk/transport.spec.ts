import { MemoryStore } from '../storage/memory-store';
import { HttpError } from './errors';
import { accessTokenExpiry, Transport } from './transport';

const jwt = (exp: number) => `h.${Buffer.from(JSON.stringify({ sub: 'u', exp })).toString('base64url')}.s`;

/** A fake API: /v1/auth/refresh rotates (a spent refresh token answers 401); /v1/thing needs the current token. */
function fakeServer(initial: { access: string; refresh: string }) {
  const state = { access: initial.access, refresh: initial.refresh, refreshCalls: 0, n: 0 };
  const fetchImpl = (async (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => {
    const path = new URL(url).pathname;
    const answer = (status: number, body: unknown) =>
      ({ ok: status < 400, status, text: async () => JSON.stringify(body) }) as Response;
    if (path === '/v1/auth/refresh') {
      state.refreshCalls++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (JSON.parse(init.body!).refreshToken !== state.refresh) return answer(401, { message: 'spent' });
      state.n++;
      state.access = jwt(Math.floor(Date.now() / 1000) + 900) + state.n;
      state.refresh = `r${state.n}`;
      return answer(200, { accessToken: state.access, refreshToken: state.refresh });
    }
    if (init.headers.authorization !== `Bearer ${state.access}`) return answer(401, { message: 'expired' });
    return answer(200, { ok: true });
  }) as unknown as typeof fetch;
  return { state, fetchImpl };
}

describe('Transport', () => {
  it('reads the expiry of an access token, and nothing from a malformed one', () => {
    expect(accessTokenExpiry(jwt(1_700_000_000))).toBe(1_700_000_000_000);
    expect(accessTokenExpiry('not a jwt')).toBeUndefined();
  });

  it('refreshes once for many concurrent 401s, persisting the new refresh token before using it', async () => {
    const { state, fetchImpl } = fakeServer({ access: 'server-side', refresh: 'r0' });
    const store = new MemoryStore();
    const transport = new Transport('http://api', store, fetchImpl);
    await transport.setTokens({ accessToken: 'stale', refreshToken: 'r0' });
    const answers = await Promise.all(Array.from({ length: 10 }, () => transport.request('GET', '/v1/thing')));
    expect(answers).toEqual(Array(10).fill({ ok: true }));
    expect(state.refreshCalls).toBe(1);
    expect(JSON.parse((await store.get('auth/tokens'))!)).toEqual({ accessToken: state.access, refreshToken: 'r1' });
  });

  it('refreshes ahead of expiry, and a reopened transport continues from the stored token', async () => {
    const { state, fetchImpl } = fakeServer({ access: 'x', refresh: 'r0' });
    const store = new MemoryStore();
    const first = new Transport('http://api', store, fetchImpl);
    await first.setTokens({ accessToken: jwt(Math.floor(Date.now() / 1000) + 5), refreshToken: 'r0' });
    await first.request('GET', '/v1/thing');
    expect(state.refreshCalls).toBe(1);
    const second = new Transport('http://api', store, fetchImpl);
    await second.load();
    await second.request('GET', '/v1/thing');
    expect(state.refreshCalls).toBe(1);
  });

  it('never retries a failed refresh with the token it already sent', async () => {
    const { state, fetchImpl } = fakeServer({ access: 'y', refresh: 'other' });
    const transport = new Transport('http://api', new MemoryStore(), fetchImpl);
    await transport.setTokens({ accessToken: 'stale', refreshToken: 'spent' });
    const failure = await transport.request('GET', '/v1/thing').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(HttpError);
    expect(failure).toMatchObject({ status: 401, path: '/v1/auth/refresh', reason: 'spent' });
    expect(state.refreshCalls).toBe(1);
  });
});
