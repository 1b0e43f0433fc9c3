import { randomUUID } from 'node:crypto';
import type { ServerApp } from '../bootstrap';
import {
  call,
  conversationOf,
  CuttableProxy,
  env,
  eventually,
  privateQueue,
  register,
  startServer,
  TestSocket,
} from './helpers';

jest.setTimeout(60_000);

/** Redis is a cache and a bus: with it gone the API answers from the database, slower, and says so in readiness. */
describe('Redis outage', () => {
  let server: ServerApp;
  let proxy: CuttableProxy;
  let queue: Awaited<ReturnType<typeof privateQueue>>;

  beforeAll(async () => {
    const redisUrl = new URL(env().REDIS_URL);
    proxy = new CuttableProxy({ host: redisUrl.hostname, port: Number(redisUrl.port) });
    await proxy.start();
    queue = await privateQueue();
    const throughProxy = new URL(redisUrl); // keeps the credentials
    throughProxy.hostname = '127.0.0.1';
    throughProxy.port = String(proxy.port);
    server = await startServer({ env: { REDIS_URL: throughProxy.toString(), SQS_MESSAGES_QUEUE_URL: queue.url } });
  });

  afterAll(async () => {
    await server?.shutdown();
    await proxy?.cut();
    await queue?.remove();
  });

  it('keeps serving when Redis stops mid-test, and recovers when it is back', async () => {
    const [alice, bob] = await Promise.all([register(server.url, 'alice'), register(server.url, 'bob')]);
    const conversationId = await conversationOf(server.url, alice, [bob]);
    expect((await call(server.url, 'GET', `/v1/users/${bob.id}`, { token: alice.token })).status).toBe(200);
    expect((await call(server.url, 'GET', '/health/ready')).body.status).toBe('ok');

    await proxy.cut();

    const ready = await call(server.url, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'degraded',
      checks: { redis: { status: 'down' }, primary: { status: 'up' }, sqs: { status: 'up' } },
    });
    expect((await call(server.url, 'GET', '/health')).status).toBe(200);

    // Sessions, profiles, membership and rate limits all fall back; nothing is a 500.
    expect((await call(server.url, 'GET', '/v1/users/me', { token: alice.token })).status).toBe(200);
    expect((await call(server.url, 'GET', `/v1/users/${bob.id}`, { token: alice.token })).status).toBe(200);
    const login = await call(server.url, 'POST', '/v1/auth/login', {
      body: { username: bob.username, password: bob.password },
    });
    expect(login.status).toBe(200);
    const sent = await call(server.url, 'POST', `/v1/conversations/${conversationId}/messages`, {
      token: alice.token,
      body: { clientMessageId: randomUUID(), ciphertext: 'AAAA' },
    });
    expect(sent.status).toBe(202);
    // A member change the other instances' caches could not see at once is refused, and nothing changes.
    const leave = `/v1/conversations/${conversationId}/members/${bob.id}`;
    expect((await call(server.url, 'DELETE', leave, { token: bob.token })).status).toBe(503);
    expect(
      (await call(server.url, 'GET', `/v1/conversations/${conversationId}/messages`, { token: bob.token })).status,
    ).toBe(200);
    expect((await call(server.url, 'POST', '/v1/auth/logout', { token: login.body.accessToken })).status).toBe(204);
    expect((await call(server.url, 'GET', '/v1/users/me', { token: login.body.accessToken })).status).toBe(401);

    await proxy.restore();
    await eventually(
      async () => (await call(server.url, 'GET', '/health/ready')).body.status === 'ok',
      15_000,
      'readiness ok again',
    );
    const socket = await TestSocket.open(server.url, alice.token);
    expect(socket.events[0]).toMatchObject({ type: 'ready', realtime: 'live' });
    socket.close();
  });
});
