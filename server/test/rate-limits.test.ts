import type { ServerApp } from '../bootstrap';
import { RELAXED_LIMITS, call, register, startServer, tag, TestUser } from './helpers';

jest.setTimeout(60_000);

const octet = () => Math.floor(Math.random() * 255);
const hextet = () => Math.floor(Math.random() * 0xffff).toString(16);
/** A unique client address per test (the servers trust loopback proxies), so concurrent runs do not share counters. */
const randomIPv4 = () => `10.${octet()}.${octet()}.${octet()}`;
const from = (address = randomIPv4()) => ({ 'x-forwarded-for': address });

/** Limits live in Redis, so they hold across instances: two instances share one budget. */
describe('rate limits', () => {
  let a: ServerApp;
  let b: ServerApp;

  beforeAll(async () => {
    const rateLimits = {
      ...RELAXED_LIMITS,
      loginIp: { limit: 5, windowSeconds: 60 },
      loginFailures: { limit: 3, windowSeconds: 60 },
      loginUsernameFailures: { limit: 6, windowSeconds: 60 },
      loginFailuresUnderAttack: { limit: 1, windowSeconds: 60 },
      passwordChange: { limit: 2, windowSeconds: 60 },
    };
    [a, b] = await Promise.all([startServer({ rateLimits }), startServer({ rateLimits })]);
  });

  afterAll(() => Promise.all([a?.shutdown(), b?.shutdown()]));

  const login = (server: ServerApp, user: TestUser, password: string, headers: Record<string, string>) =>
    call(server.url, 'POST', '/v1/auth/login', { body: { username: user.username, password }, headers });

  it('counts failed logins per (username, client) across instances and answers 429 with Retry-After', async () => {
    const user = await register(a.url);
    const stranger = from();
    expect((await login(a, user, 'wrong-password', stranger)).status).toBe(401);
    expect((await login(b, user, 'wrong-password', stranger)).status).toBe(401);
    expect((await login(a, user, 'wrong-password', stranger)).status).toBe(401);
    const limited = await login(b, user, 'wrong-password', stranger);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/retry/i),
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Refused before the password check: even the right password from the stranger's client is refused now.
    expect((await login(a, user, user.password, stranger)).status).toBe(429);
  });

  it('lets the owner log in from another client while a stranger hammers the account', async () => {
    const user = await register(a.url);
    const stranger = from();
    for (let i = 0; i < 5; i++) await login(i % 2 ? a : b, user, 'wrong-password', stranger);
    expect((await login(a, user, 'wrong-password', stranger)).status).toBe(429);
    // Counting attempts per username (the old rule) locked the owner out here.
    expect((await login(b, user, user.password, from())).status).toBe(200);
  });

  it('counts only failures: successful logins from one client are never limited', async () => {
    const user = await register(a.url);
    const client = from();
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(i % 2 ? a : b, user, user.password, client)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
  });

  it('holds concurrent guesses from one client to the failure limit', async () => {
    const user = await register(a.url);
    const client = from();
    const statuses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => login(i % 2 ? a : b, user, 'wrong-password', client)),
    );
    expect(statuses.filter((answer) => answer.status === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((answer) => answer.status === 429).length).toBeGreaterThanOrEqual(5);
  });

  it('slows a distributed attack on one username without locking the owner out', async () => {
    const user = await register(a.url);
    const attackers = Array.from({ length: 6 }, () => from());
    // One failure from each of six addresses: every pair is under its own limit, the username reaches its cap.
    for (const attacker of attackers) expect((await login(a, user, 'wrong-password', attacker)).status).toBe(401);
    // Under attack, each client is held to one more failure instead of its remaining two.
    expect((await login(b, user, 'wrong-password', attackers[0])).status).toBe(401);
    expect((await login(a, user, 'wrong-password', attackers[0])).status).toBe(429);
    // The owner, from an address that has not failed, still gets in.
    expect((await login(b, user, user.password, from())).status).toBe(200);
  });

  it('counts login attempts per client address', async () => {
    const headers = from();
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const server = i % 2 ? a : b;
      statuses.push(
        (
          await call(server.url, 'POST', '/v1/auth/login', {
            body: { username: `nobody_${tag()}`, password: 'whatever1' },
            headers,
          })
        ).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('counts every IPv6 address of one /64 as one client, and IPv4-mapped IPv6 as the IPv4 address', async () => {
    const prefix = `2001:db8:${hextet()}:${hextet()}`;
    const attempt = (address: string) =>
      call(a.url, 'POST', '/v1/auth/login', {
        body: { username: `nobody_${tag()}`, password: 'whatever1' },
        headers: from(address),
      });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt(`${prefix}:${hextet()}:${hextet()}::${i + 1}`)).status);
    // Keyed by the full address (the old rule), six addresses were six fresh budgets.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await attempt(`2001:db8:${hextet()}:${hextet()}::1`)).status).toBe(401);

    const ipv4 = randomIPv4();
    const mixed = [];
    for (let i = 0; i < 6; i++) mixed.push((await attempt(i % 2 ? ipv4 : `::ffff:${ipv4}`)).status);
    expect(mixed).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('gives password changes their own limit', async () => {
    const user = await register(a.url);
    const change = (server: ServerApp) =>
      call(server.url, 'PUT', '/v1/users/me/password', {
        token: user.token,
        body: { currentPassword: 'not-the-password', newPassword: 'new-password-1' },
        headers: from(),
      });
    // Before, a stolen token could guess the current password at the per-user rate (600 a minute).
    expect([(await change(a)).status, (await change(b)).status, (await change(a)).status]).toEqual([401, 401, 429]);
  });
});

describe('the per-address limit', () => {
  let server: ServerApp;

  beforeAll(async () => {
    server = await startServer({ rateLimits: { ...RELAXED_LIMITS, ip: { limit: 3, windowSeconds: 60 } } });
  });

  afterAll(() => server?.shutdown());

  it('runs before authentication, so requests answered 401 are counted too', async () => {
    const headers = from();
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await call(server.url, 'GET', '/v1/users/me', { token: `forged.${tag()}.token`, headers })).status,
      );
    // After authentication (the old order) every one of these was a 401 and none was counted.
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
