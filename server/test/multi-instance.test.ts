import { randomBytes } from 'node:crypto';
import { RedisChannels, RedisKeys } from '../../common/redis/keys';
import type { ServerApp } from '../bootstrap';
import { CLOSE_RESTARTING } from '../realtime/realtime.gateway';
import {
  call,
  conversationOf,
  expectPresenceComesAndGoes,
  register,
  startServer,
  storedMessageEvent,
  TestSocket,
  TwoInstances,
  twoInstances,
} from './helpers';

jest.setTimeout(60_000);

/** Two API instances sharing the services, as behind the ALB: nothing may depend on which one a client hits. */
describe('two instances', () => {
  let a: ServerApp;
  let b: ServerApp;
  let redis: TwoInstances['redis'];
  twoInstances((started) => ({ a, b, redis } = started));

  it('a logout on one instance revokes the token on the other at once', async () => {
    const user = await register(a.url);
    expect((await call(b.url, 'GET', '/v1/users/me', { token: user.token })).status).toBe(200); // cached as live on B's side too
    expect((await call(a.url, 'POST', '/v1/auth/logout', { token: user.token })).status).toBe(204);
    expect((await call(b.url, 'GET', '/v1/users/me', { token: user.token })).status).toBe(401);
    expect((await call(a.url, 'GET', '/v1/users/me', { token: user.token })).status).toBe(401);
  });

  it('a revoked token stays revoked when the Redis entry is gone (database is the source of truth)', async () => {
    const user = await register(a.url);
    await call(a.url, 'POST', '/v1/auth/logout', { token: user.token });
    await redis.del(RedisKeys.token(user.id));
    expect((await call(b.url, 'GET', '/v1/users/me', { token: user.token })).status).toBe(401);
  });

  it('pushes events published for a user to their socket on whichever instance holds it', async () => {
    const [alice, bob] = await Promise.all([register(a.url, 'alice'), register(a.url, 'bob')]);
    const conversationId = await conversationOf(a.url, alice, [bob]);
    const bobOnB = await TestSocket.open(b.url, bob.token);
    const aliceOnA = await TestSocket.open(a.url, alice.token);

    // What the worker does after storing a message sent through instance A.
    const { id: storedId, event } = await storedMessageEvent(conversationId, alice.id);
    await redis.publish(RedisChannels.user(bob.id), JSON.stringify(event));
    expect(await bobOnB.next((e) => e.type === 'message')).toEqual(event);

    // Bob reads it through instance B; Alice, on A, gets the receipt in real time.
    expect(
      (
        await call(b.url, 'POST', `/v1/conversations/${conversationId}/read`, {
          token: bob.token,
          body: { upToMessageId: storedId },
        })
      ).status,
    ).toBe(204);
    expect(await aliceOnA.next((e) => e.type === 'receipt')).toEqual({
      type: 'receipt',
      conversationId,
      userId: bob.id,
      upToMessageId: storedId,
      readAt: expect.any(String),
    });

    bobOnB.close();
    aliceOnA.close();
  });

  it('keeps presence in Redis and tells contacts when a user comes and goes', async () => {
    await expectPresenceComesAndGoes(a, b, redis, 'protocol');
  });

  it('refuses WebSocket upgrades without a live token', async () => {
    const user = await register(a.url);
    await expect(TestSocket.open(a.url, 'nonsense')).rejects.toThrow('401');
    await call(a.url, 'POST', '/v1/auth/logout', { token: user.token });
    await expect(TestSocket.open(b.url, user.token)).rejects.toThrow('401');
  });

  it('answers pings and refuses anything else on the socket', async () => {
    const user = await register(a.url);
    const socket = await TestSocket.open(a.url, user.token);
    socket.ws.send(JSON.stringify({ type: 'ping' }));
    expect(await socket.next((e) => e.type === 'pong')).toMatchObject({ type: 'pong' });
    socket.ws.send(randomBytes(10).toString('hex'));
    expect(await socket.next((e) => e.type === 'error')).toMatchObject({ type: 'error' });
    socket.close();
  });

  it('on shutdown closes sockets with 1012 (reconnect) and finishes in-flight requests', async () => {
    const c = await startServer();
    const user = await register(c.url);
    const socket = await TestSocket.open(c.url, user.token);
    const inFlight = call(c.url, 'POST', '/v1/auth/login', {
      body: { username: user.username, password: user.password },
    });
    await new Promise((resolve) => setTimeout(resolve, 5)); // the login is being hashed when SIGTERM arrives
    const started = Date.now();
    await c.shutdown();
    expect(Date.now() - started).toBeLessThan(c.config.shutdownTimeoutMs);
    expect(await socket.closed).toBe(CLOSE_RESTARTING);
    expect((await inFlight).status).toBe(200);
    await expect(call(c.url, 'GET', '/health')).rejects.toThrow();
  });
});
