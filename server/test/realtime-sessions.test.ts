import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { createClient } from 'redis';
import { WebSocket } from 'ws';
import { RealtimeCloseCodes } from '../../common/contracts/realtime-events';
import { RedisChannels } from '../../common/redis/keys';
import type { ServerApp } from '../bootstrap';
import { RealtimeGateway } from '../realtime/realtime.gateway';
import {
  call,
  CuttableProxy,
  env,
  login as loginDevice,
  register,
  RELAXED_LIMITS,
  sleep,
  startServer,
  TestSocket,
  TestUser,
} from './helpers';

jest.setTimeout(60_000);

const HEARTBEAT_MS = 300;
const MAX_SOCKETS_PER_USER = 3;
const MAX_BUFFERED_BYTES = 256 * 1024;
const TOKEN_TTL_SECONDS = 3;

/** Milliseconds from `since` to each socket's close, with its code. */
async function closes(sockets: TestSocket[], since: number): Promise<{ code: number; ms: number }[]> {
  return Promise.all(sockets.map(async (socket) => ({ code: await socket.closed, ms: Date.now() - since })));
}

/** A socket whose close time is taken when it happens (not when the test gets round to awaiting it). */
function closeTimes(sockets: TestSocket[]): Promise<{ code: number; at: number }[]> {
  return Promise.all(sockets.map((socket) => socket.closed.then((code) => ({ code, at: Date.now() }))));
}

/** Another device of the user; its access token. */
async function login(base: string, user: TestUser): Promise<string> {
  return (await loginDevice(base, user)).token;
}

const sessionOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string }).jti;
const deviceOf = (token: string): number =>
  (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { did: number }).did;
const expiryOf = (token: string): number =>
  (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { exp: number }).exp * 1000;

/**
 * Two API instances (as behind the ALB) and the realtime path's security properties: a socket lives no longer
 * than its session or its token, and a client cannot make an instance hold more than the limits allow.
 */
describe('realtime sessions and limits', () => {
  let a: ServerApp;
  let b: ServerApp;
  /** A pair with short-lived tokens, for expiry and renewal. */
  let c: ServerApp;
  let d: ServerApp;
  let redis: ReturnType<typeof createClient>;
  const logs: string[] = [];
  const latencies: number[] = [];

  beforeAll(async () => {
    const logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    const realtime = {
      heartbeatMs: HEARTBEAT_MS,
      maxSocketsPerUser: MAX_SOCKETS_PER_USER,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
    };
    const short = {
      realtime,
      accessTokenTtlSeconds: TOKEN_TTL_SECONDS,
      rateLimits: { ...RELAXED_LIMITS, upgrade: { limit: 2, windowSeconds: 60 } },
    };
    [a, b, c, d] = await Promise.all([
      startServer({ realtime, logLevel: 'info', logStream }),
      startServer({ realtime }),
      startServer(short),
      startServer(short),
    ]);
    redis = createClient({ url: env().REDIS_URL });
    await redis.connect();
  });

  afterAll(async () => {
    await Promise.all([a, b, c, d].map((app) => app?.shutdown()));
    await redis?.close();
    if (latencies.length > 0)
      process.stdout.write(
        `revocation/expiry → socket closed: max ${Math.max(...latencies)} ms, median ${latencies.sort((x, y) => x - y)[latencies.length >> 1]} ms over ${latencies.length} sockets\n`,
      );
  });

  /** After the sockets closed, an event published for the user reaches none of them. */
  async function expectNothingMore(user: TestUser, sockets: TestSocket[]): Promise<void> {
    const before = sockets.map((socket) => socket.events.length);
    await redis.publish(
      RedisChannels.user(user.id),
      JSON.stringify({ type: 'presence', userId: user.id, online: true, at: '' }),
    );
    await sleep(200);
    expect(sockets.map((socket) => socket.events.length)).toEqual(before);
  }

  it('logout closes that session’s sockets on both instances within a second (4001), and only those', async () => {
    const user = await register(a.url, 'lo');
    const other = await login(b.url, user);
    const sockets = [await TestSocket.open(a.url, user.token), await TestSocket.open(b.url, user.token, 'protocol')];
    const others = [await TestSocket.open(a.url, other), await TestSocket.open(b.url, other)];

    const closed = closeTimes(sockets);
    const started = Date.now();
    expect((await call(a.url, 'POST', '/v1/auth/logout', { token: user.token })).status).toBe(204);
    // Published right after the 204: on the same subscriber connection it follows the revocation, so none get it.
    await redis.publish(
      RedisChannels.user(user.id),
      JSON.stringify({ type: 'presence', userId: user.id, online: false, at: '' }),
    );
    for (const { code, at } of await closed) {
      expect(code).toBe(RealtimeCloseCodes.sessionRevoked);
      expect(at - started).toBeLessThan(1_000);
      latencies.push(at - started);
    }
    expect(sockets.flatMap((socket) => socket.events.filter((event) => event.type === 'presence'))).toEqual([]);
    await expectNothingMore(user, sockets);

    // The other device's session is untouched.
    await sleep(100);
    expect(others.map((socket) => socket.closeCode)).toEqual([undefined, undefined]);
    others.forEach((socket) => socket.close());
  });

  it('a password change closes the other devices’ sockets on both instances within a second, not the caller’s', async () => {
    const user = await register(a.url, 'pw');
    const second = await login(a.url, user);
    const third = await login(b.url, user);
    const mine = [await TestSocket.open(a.url, user.token), await TestSocket.open(b.url, user.token)];
    const sockets = [
      await TestSocket.open(a.url, second),
      await TestSocket.open(b.url, second, 'protocol'),
      await TestSocket.open(a.url, third),
    ];
    const started = Date.now();
    const answer = await call(b.url, 'PUT', '/v1/users/me/password', {
      token: user.token,
      body: { currentPassword: user.password, newPassword: `new-${user.password}` },
    });
    expect(answer.status).toBe(204);
    for (const { code, ms } of await closes(sockets, started)) {
      expect(code).toBe(RealtimeCloseCodes.sessionRevoked);
      expect(ms).toBeLessThan(1_000);
      latencies.push(ms);
    }
    await expectNothingMore(user, sockets);
    expect(mine.map((socket) => socket.closeCode)).toEqual([undefined, undefined]);
    expect((await call(a.url, 'GET', '/v1/users/me', { token: user.token })).status).toBe(200);
    for (const token of [second, third]) expect((await call(a.url, 'GET', '/v1/users/me', { token })).status).toBe(401);
    mine.forEach((socket) => socket.close());
  });

  it('removing another device closes its sockets on both instances within a second, not the caller’s', async () => {
    const user = await register(a.url, 'rv');
    const lost = await login(a.url, user);
    const listed = await call(b.url, 'GET', '/v1/devices', { token: user.token });
    expect(listed.status).toBe(200);
    expect(listed.body.map((device: { id: number; current: boolean }) => [device.id, device.current])).toEqual([
      [user.deviceId, true],
      [deviceOf(lost), false],
    ]);
    const mine = await TestSocket.open(a.url, user.token);
    const sockets = [await TestSocket.open(a.url, lost), await TestSocket.open(b.url, lost)];

    const started = Date.now();
    expect((await call(b.url, 'DELETE', `/v1/devices/${deviceOf(lost)}`, { token: user.token })).status).toBe(204);
    for (const { code, ms } of await closes(sockets, started)) {
      expect(code).toBe(RealtimeCloseCodes.sessionRevoked);
      expect(ms).toBeLessThan(1_000);
      latencies.push(ms);
    }
    await expectNothingMore(user, sockets);
    expect(mine.closeCode).toBeUndefined();
    expect((await call(a.url, 'GET', '/v1/users/me', { token: lost })).status).toBe(401);
    expect((await call(a.url, 'DELETE', `/v1/devices/${deviceOf(lost)}`, { token: user.token })).status).toBe(404);
    expect((await call(a.url, 'GET', '/v1/devices', { token: user.token })).body).toHaveLength(1);
    // Device ids are per account: a stranger's DELETE names the stranger's own devices, and has no device 2.
    const stranger = await register(a.url, 'st');
    expect((await call(a.url, 'DELETE', `/v1/devices/${deviceOf(lost)}`, { token: stranger.token })).status).toBe(404);
    expect(mine.closeCode).toBeUndefined();
    expect((await call(a.url, 'DELETE', '/v1/devices/zero', { token: user.token })).status).toBe(400);
    mine.close();
  });

  it('refresh tokens rotate, and a spent one presented again removes its device (sockets, tokens, both copies)', async () => {
    const user = await register(a.url, 'rt');
    const first = await call(b.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(user.refreshToken);
    expect(deviceOf(first.body.accessToken)).toBe(user.deviceId);
    const second = await call(a.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
    expect(second.status).toBe(200);
    const sockets = [await TestSocket.open(a.url, second.body.accessToken), await TestSocket.open(b.url, user.token)];

    // The thief (or the owner, whichever comes second) presents a spent token (older than the last one spent: that
    // one, within 30 s, counts as a retry of a lost answer).
    const started = Date.now();
    const replay = await call(a.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(replay.status).toBe(401);
    expect(replay.body.message).toMatch(/already used/);
    for (const { code, ms } of await closes(sockets, started)) {
      expect(code).toBe(RealtimeCloseCodes.sessionRevoked);
      expect(ms).toBeLessThan(1_000);
    }
    // Every token of the device is dead now: the newest refresh token and both access tokens.
    const next = await call(a.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: second.body.refreshToken } });
    expect(next.status).toBe(401);
    for (const token of [user.token, first.body.accessToken, second.body.accessToken])
      expect((await call(b.url, 'GET', '/v1/users/me', { token })).status).toBe(401);
    // Garbage is a plain 401 (nothing removed), a missing field a 400.
    expect((await call(a.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: 'x.1.y' } })).status).toBe(401);
    expect((await call(a.url, 'POST', '/v1/auth/refresh', { body: {} })).status).toBe(400);
  });

  it('closes sockets at token expiry on both instances (4002)', async () => {
    const user = await register(c.url, 'ex');
    const sockets = [await TestSocket.open(c.url, user.token), await TestSocket.open(d.url, user.token)];
    expect(new Date(sockets[0].events[0].expiresAt).getTime()).toBe(expiryOf(user.token));
    for (const { code, at } of await closeTimes(sockets)) {
      expect(code).toBe(RealtimeCloseCodes.tokenExpired);
      expect(at - expiryOf(user.token)).toBeGreaterThanOrEqual(0);
      expect(at - expiryOf(user.token)).toBeLessThan(1_000);
      latencies.push(at - expiryOf(user.token));
    }
    await expectNothingMore(user, sockets);
  });

  it('an auth frame with a refreshed token keeps the socket past the first token’s expiry', async () => {
    const user = await register(c.url, 'ra');
    const socket = await TestSocket.open(c.url, user.token);
    await sleep(1_100); // so the refreshed token expires later than the first (expiry has second precision)

    const stranger = await register(c.url, 'st');
    socket.ws.send(JSON.stringify({ type: 'auth', token: stranger.token }));
    expect(await socket.next((e) => e.type === 'error' && /another session/.test(e.message))).toBeDefined();

    const refreshed = await call(d.url, 'POST', '/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(refreshed.status).toBe(200);
    const fresh: string = refreshed.body.accessToken;
    expect(sessionOf(fresh)).toBe(sessionOf(user.token));
    expect(expiryOf(fresh)).toBeGreaterThan(expiryOf(user.token));
    socket.ws.send(JSON.stringify({ type: 'auth', token: fresh }));
    expect(await socket.next((e) => e.type === 'auth')).toEqual({
      type: 'auth',
      expiresAt: new Date(expiryOf(fresh)).toISOString(),
    });

    // Past the first token's expiry: still open, still delivering, and the session lives on for HTTP too.
    await sleep(Math.max(0, expiryOf(user.token) - Date.now()) + 500);
    expect(socket.closeCode).toBeUndefined();
    expect((await call(c.url, 'GET', '/v1/users/me', { token: fresh })).status).toBe(200);
    await redis.publish(
      RedisChannels.user(user.id),
      JSON.stringify({ type: 'presence', userId: stranger.id, online: true, at: 'x' }),
    );
    expect(await socket.next((e) => e.type === 'presence' && e.at === 'x')).toBeDefined();

    // Without another renewal it ends at the new token's expiry.
    const code = await socket.closed;
    expect(code).toBe(RealtimeCloseCodes.tokenExpired);
    expect(Date.now() - expiryOf(fresh)).toBeLessThan(1_000);
  });

  it('caps sockets per user on an instance (429) and frees a place when one closes', async () => {
    const user = await register(a.url, 'cap');
    const sockets = await Promise.all(
      Array.from({ length: MAX_SOCKETS_PER_USER }, () => TestSocket.open(a.url, user.token)),
    );
    await expect(TestSocket.open(a.url, user.token)).rejects.toThrow('websocket refused: 429');
    // Concurrent attempts cannot slip past the cap together.
    const burst = await Promise.allSettled(Array.from({ length: 5 }, () => TestSocket.open(a.url, user.token)));
    expect(burst.every((result) => result.status === 'rejected')).toBe(true);
    expect(a.app.get(RealtimeGateway).connectionCount).toBeGreaterThanOrEqual(MAX_SOCKETS_PER_USER);

    sockets[0].close();
    await sockets[0].closed;
    await sleep(50);
    const again = await TestSocket.open(a.url, user.token);
    [again, ...sockets.slice(1)].forEach((socket) => socket.close());
  });

  it('rate-limits upgrades per user (429 with Retry-After)', async () => {
    const user = await register(c.url, 'rl');
    const first = await TestSocket.open(c.url, user.token);
    const second = await TestSocket.open(d.url, user.token); // the counter is shared through Redis
    const refused = await new Promise<{ status?: number; retryAfter?: string }>((resolve, reject) => {
      const ws = new WebSocket(c.url.replace('http', 'ws') + '/v1/ws', {
        headers: { authorization: `Bearer ${user.token}` },
      });
      ws.once('open', () => reject(new Error('opened')));
      ws.once('unexpected-response', (_req, res) =>
        resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] }),
      );
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    first.close();
    second.close();
  });

  it('cuts a socket that does not read before its unsent bytes pass the bound', async () => {
    const user = await register(a.url, 'slow');
    const socket = await TestSocket.open(a.url, user.token);
    const gateway = a.app.get(RealtimeGateway);
    // Every send the servers in this process make, with what was already waiting on that socket.
    const original = WebSocket.prototype.send;
    let largest = 0;
    WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
      largest = Math.max(largest, this.bufferedAmount + Buffer.byteLength(data as string));
      return (original as (...args: unknown[]) => void).call(this, data, ...rest);
    } as typeof original;
    try {
      (socket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const event = JSON.stringify({
        type: 'presence',
        userId: user.id,
        online: true,
        at: randomBytes(12 * 1024).toString('hex'),
      });
      const heapBefore = process.memoryUsage().heapUsed;
      let published = 0;
      // 32 MiB of events at most, far more than the loopback's socket buffers and the bound together.
      while (gateway['sockets'].has(user.id) && published < 1_300) {
        await Promise.all(Array.from({ length: 50 }, () => redis.publish(RedisChannels.user(user.id), event)));
        published += 50;
      }
      await sleep(200);
      expect(gateway['sockets'].has(user.id)).toBe(false);
      expect(largest).toBeLessThanOrEqual(MAX_BUFFERED_BYTES);
      process.stdout.write(
        `slow consumer cut after ${published} events of ${event.length} B; largest buffered ${largest} B (bound ${MAX_BUFFERED_BYTES}); heap +${Math.round((process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024)} MiB\n`,
      );
    } finally {
      WebSocket.prototype.send = original;
    }
    (socket.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await socket.closed).toBe(1006); // cut, not closed: a close frame would have queued behind the rest
  });

  it('drops a client that sends pings but never answers the server’s (only pongs count as liveness)', async () => {
    const user = await register(a.url, 'png');
    const quiet = await TestSocket.open(a.url, user.token); // answers pings (ws does by default), sends nothing
    const url = a.url.replace('http', 'ws') + '/v1/ws';
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${user.token}` }, autoPong: false });
    await new Promise((resolve) => ws.once('open', resolve));
    const chatter = setInterval(() => {
      ws.ping();
      ws.send(JSON.stringify({ type: 'ping' }));
    }, HEARTBEAT_MS / 3);
    const started = Date.now();
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    clearInterval(chatter);
    expect(code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(3 * HEARTBEAT_MS + 500);
    expect(quiet.closeCode).toBeUndefined();
    quiet.close();
  });

  it('refuses a token in the URL (400), even a valid one', async () => {
    const user = await register(a.url, 'qt');
    await expect(TestSocket.open(a.url, user.token, 'query')).rejects.toThrow('websocket refused: 400');
    const body = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`${a.url.replace('http', 'ws')}/v1/ws?access_token=${user.token}`, {
        headers: { authorization: `Bearer ${user.token}` },
      });
      ws.once('open', () => reject(new Error('opened')));
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      });
    });
    expect(JSON.parse(body)).toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('not accepted in the URL'),
    });
  });

  it('writes no token into the logs during upgrades and requests', async () => {
    const user = await register(a.url, 'log');
    logs.length = 0;
    (await TestSocket.open(a.url, user.token, 'header')).close();
    (await TestSocket.open(a.url, user.token, 'protocol')).close();
    await expect(TestSocket.open(a.url, user.token, 'query')).rejects.toThrow('400');
    await expect(TestSocket.open(a.url, `${user.token}x`, 'protocol')).rejects.toThrow('401');
    // Successful requests are not logged (the ALB's access log has them); a refused one is, with its URL redacted.
    expect((await call(a.url, 'GET', `/v1/users/me?token=${user.token}`)).status).toBe(401);
    expect((await call(a.url, 'GET', `/v1/users/me?access_token=${user.token}`, { token: user.token })).status).toBe(
      200,
    );
    await sleep(200);
    const text = logs.join('');
    expect(text).toContain('websocket refused 400 (token-in-url) GET /v1/ws?token=[Redacted]');
    expect(text).toContain('websocket refused 401 (unauthenticated)');
    expect(text).toContain('/v1/users/me?token=[Redacted]');
    expect(text).not.toContain('access_token=');
    // Neither the whole token nor its signature, anywhere.
    expect(text).not.toContain(user.token);
    expect(text).not.toContain(user.token.split('.')[2]);
  });
});

describe('revocations while an instance has lost Redis', () => {
  let a: ServerApp;
  let e: ServerApp;
  let proxy: CuttableProxy;

  beforeAll(async () => {
    const redisUrl = new URL(env().REDIS_URL);
    proxy = new CuttableProxy({ host: redisUrl.hostname, port: Number(redisUrl.port) });
    await proxy.start();
    const throughProxy = new URL(redisUrl);
    throughProxy.port = String(proxy.port);
    const realtime = { heartbeatMs: HEARTBEAT_MS };
    [a, e] = await Promise.all([
      startServer({ realtime }),
      startServer({ realtime, env: { REDIS_URL: throughProxy.toString() } }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.shutdown(), e?.shutdown()]);
    await proxy?.cut();
  });

  it('an instance that cannot hear revocations re-checks its sockets’ sessions against the database', async () => {
    const user = await register(a.url, 'out');
    const keeper = await register(a.url, 'keep');
    const [revoked, kept] = [await TestSocket.open(e.url, user.token), await TestSocket.open(e.url, keeper.token)];
    await proxy.cut();
    const started = Date.now();
    expect((await call(a.url, 'POST', '/v1/auth/logout', { token: user.token })).status).toBe(204);
    expect(await revoked.closed).toBe(RealtimeCloseCodes.sessionRevoked);
    expect(Date.now() - started).toBeLessThan(2 * HEARTBEAT_MS + 1_000);
    expect(kept.closeCode).toBeUndefined();
    await proxy.restore();
    kept.close();
  });
});
