import type { ServerApp } from '../bootstrap';
import { RELAXED_LIMITS, call, register, startServer, tag } from './helpers';

jest.setTimeout(60_000);

/** Limits live in Redis, so they hold across instances: two instances share one login budget. */
describe('rate limits', () => {
  let a: ServerApp;
  let b: ServerApp;

  beforeAll(async () => {
    const rateLimits = {
      ...RELAXED_LIMITS,
      loginUsername: { limit: 3, windowSeconds: 60 },
      loginIp: { limit: 5, windowSeconds: 60 },
    };
    [a, b] = await Promise.all([startServer({ rateLimits }), startServer({ rateLimits })]);
  });

  afterAll(() => Promise.all([a?.shutdown(), b?.shutdown()]));

  // A unique client address per test (the servers trust loopback proxies), so concurrent runs do not share counters.
  const from = () => ({
    'x-forwarded-for': `10.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}`,
  });

  it('counts login attempts per username across instances and answers 429 with Retry-After', async () => {
    const user = await register(a.url);
    const attempt = (server: ServerApp) =>
      call(server.url, 'POST', '/v1/auth/login', {
        body: { username: user.username, password: 'wrong-password' },
        headers: from(),
      });
    expect((await attempt(a)).status).toBe(401);
    expect((await attempt(b)).status).toBe(401);
    expect((await attempt(a)).status).toBe(401);
    const limited = await attempt(b);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/retry/i),
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
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
});
