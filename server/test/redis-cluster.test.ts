import { randomUUID } from 'node:crypto';
import { redisSettings } from '../../common/redis/client';
import { createRedisConnection, RedisConnection } from '../../common/redis/connection';
import { RealtimeCloseCodes } from '../../common/contracts/realtime-events';
import { RedisChannels, RedisKeys } from '../../common/redis/keys';
import { isOnline, presenceField } from '../../common/redis/presence';
import { RedisClusterHandle, startRedisCluster } from '../../scripts/testing/redis-cluster';
import type { ServerApp } from '../bootstrap';
import { RealtimeGateway } from '../realtime/realtime.gateway';
import {
  call,
  conversationOf,
  env,
  eventually,
  register,
  RELAXED_LIMITS,
  startServer,
  storedMessageEvent,
  expectPresenceComesAndGoes,
  TestSocket,
} from './helpers';

jest.setTimeout(60_000);

/**
 * The large tier: Redis in cluster mode (3 shards). Two API instances on a real 3-master Redis Cluster
 * (REDIS_CLUSTER=true), everything else as in the other suites: sessions, profile and member caches,
 * rate limits, presence and WebSocket delivery through sharded pub/sub must behave as on one node.
 */
describe('two instances on a Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let a: ServerApp;
  let b: ServerApp;
  let redis: RedisConnection;
  const rateLimits = { ...RELAXED_LIMITS, loginFailures: { limit: 3, windowSeconds: 60 } };

  beforeAll(async () => {
    cluster = await startRedisCluster({ password: `pw-${randomUUID()}` });
    const clusterEnv = { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' as const };
    [a, b] = await Promise.all([
      startServer({ env: clusterEnv, rateLimits }),
      startServer({ env: clusterEnv, rateLimits }),
    ]);
    redis = createRedisConnection(redisSettings({ ...env(), ...clusterEnv }, {}, 'cluster-test'));
    await redis.connect();
  });

  afterAll(async () => {
    await Promise.all([a?.shutdown(), b?.shutdown()]);
    await redis?.close();
    await cluster?.stop();
  });

  /** The master port that holds `key` (CLUSTER KEYSLOT + CLUSTER SLOTS would say the same). */
  async function nodeOf(key: string): Promise<number> {
    for (const port of cluster.ports) if ((await cluster.cli(port, 'EXISTS', key)).trim() === '1') return port;
    throw new Error(`${key} is on no node`);
  }

  it('runs in cluster mode and reports Redis up when every shard answers', async () => {
    expect(a.config.redis.mode).toBe('cluster');
    const ready = await call(b.url, 'GET', '/health/ready');
    expect(ready.body).toMatchObject({ checks: { redis: { status: 'up' } } });
  });

  it('caches sessions in the cluster and a logout on one instance revokes the token on the other', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, () => register(a.url)));
    for (const user of users)
      expect((await call(b.url, 'GET', '/v1/users/me', { token: user.token })).status).toBe(200);
    // token:{id} keys of different users land on different shards.
    const nodes = new Set(await Promise.all(users.map((user) => nodeOf(RedisKeys.token(user.id)))));
    expect(nodes.size).toBeGreaterThan(1);

    expect((await call(a.url, 'POST', '/v1/auth/logout', { token: users[0].token })).status).toBe(204);
    expect((await call(b.url, 'GET', '/v1/users/me', { token: users[0].token })).status).toBe(401);
    expect((await call(b.url, 'GET', '/v1/users/me', { token: users[1].token })).status).toBe(200);
  });

  it('a logout on one instance closes the session’s sockets on both through the sharded revocation channel', async () => {
    const user = await register(a.url);
    const sockets = [await TestSocket.open(a.url, user.token), await TestSocket.open(b.url, user.token)];
    const started = Date.now();
    expect((await call(b.url, 'POST', '/v1/auth/logout', { token: user.token })).status).toBe(204);
    for (const socket of sockets) expect(await socket.closed).toBe(RealtimeCloseCodes.sessionRevoked);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a password change on one instance removes the other devices on the other', async () => {
    const user = await register(a.url);
    const second = await call(a.url, 'POST', '/v1/auth/login', {
      body: { username: user.username, password: user.password },
    });
    expect((await call(b.url, 'GET', '/v1/users/me', { token: second.body.accessToken })).status).toBe(200);
    const changed = await call(a.url, 'PUT', '/v1/users/me/password', {
      token: user.token,
      body: { currentPassword: user.password, newPassword: `new-${randomUUID()}` },
    });
    expect(changed.status).toBe(204);
    expect((await call(b.url, 'GET', '/v1/users/me', { token: second.body.accessToken })).status).toBe(401);
    expect((await call(b.url, 'GET', '/v1/users/me', { token: user.token })).status).toBe(200);
  });

  it('serves profiles from the cluster cache and refreshes them on change', async () => {
    const [reader, user] = await Promise.all([register(a.url), register(a.url)]);
    expect((await call(b.url, 'GET', `/v1/users/${user.id}`, { token: reader.token })).body.displayName).toBeNull();
    expect(JSON.parse((await redis.get(RedisKeys.user(user.id)))!)).toMatchObject({ id: user.id, displayName: null });
    expect(
      (await call(a.url, 'PATCH', '/v1/users/me', { token: user.token, body: { displayName: 'Cluster Carol' } }))
        .status,
    ).toBe(200);
    expect((await call(b.url, 'GET', `/v1/users/${user.id}`, { token: reader.token })).body.displayName).toBe(
      'Cluster Carol',
    );
  });

  it('counts rate limits in the cluster, shared by both instances', async () => {
    const user = await register(a.url);
    const headers = { 'x-forwarded-for': `10.9.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}` };
    const attempt = (server: ServerApp) =>
      call(server.url, 'POST', '/v1/auth/login', {
        body: { username: user.username, password: 'wrong-password' },
        headers,
      });
    expect([
      (await attempt(a)).status,
      (await attempt(b)).status,
      (await attempt(a)).status,
      (await attempt(b)).status,
    ]).toEqual([401, 401, 401, 429]);
  });

  it('delivers events across instances through sharded pub/sub, on the shard that owns the channel only', async () => {
    const [alice, bob] = await Promise.all([register(a.url, 'alice'), register(a.url, 'bob')]);
    const conversationId = await conversationOf(a.url, alice, [bob]);
    const bobOnB = await TestSocket.open(b.url, bob.token);
    const aliceOnA = await TestSocket.open(a.url, alice.token);

    // B's subscription is a sharded one, on exactly one master; there are no classic subscriptions.
    const channel = RedisChannels.user(bob.id);
    const holders: number[] = [];
    for (const port of cluster.ports) {
      if ((await cluster.cli(port, 'PUBSUB', 'SHARDCHANNELS', channel)).trim() === channel) holders.push(port);
      expect((await cluster.cli(port, 'PUBSUB', 'CHANNELS')).trim()).toBe('');
    }
    expect(holders).toHaveLength(1);

    // What the worker does after storing a message (SPUBLISH in cluster mode).
    const { id: storedId, event } = await storedMessageEvent(conversationId, alice.id);
    expect(await redis.publish(channel, JSON.stringify(event))).toBe(1);
    expect(await bobOnB.next((e) => e.type === 'message')).toEqual(event);

    // Bob reads through B (members from the cluster cache); B publishes the receipt to Alice's channel, held by A.
    expect(
      (
        await call(b.url, 'POST', `/v1/conversations/${conversationId}/read`, {
          token: bob.token,
          body: { upToMessageId: storedId },
        })
      ).status,
    ).toBe(204);
    expect(await aliceOnA.next((e) => e.type === 'receipt')).toMatchObject({
      type: 'receipt',
      conversationId,
      userId: bob.id,
    });

    // The member entry is written by a script on the shard owning it; a removal on A is seen by B at once.
    expect(await redis.get(RedisKeys.members(conversationId))).toMatch(/^1:/);
    const removal = `/v1/conversations/${conversationId}/members/${bob.id}`;
    expect((await call(a.url, 'DELETE', removal, { token: alice.token })).status).toBe(200);
    expect(await redis.get(RedisKeys.members(conversationId))).toBe(`2:${alice.id}`);
    const readAgain = { token: bob.token, body: { upToMessageId: storedId } };
    expect((await call(b.url, 'POST', `/v1/conversations/${conversationId}/read`, readAgain)).status).toBe(404);

    bobOnB.close();
    aliceOnA.close();
    await eventually(
      async () => (await cluster.cli(holders[0], 'PUBSUB', 'SHARDCHANNELS', channel)).trim() === '',
      5_000,
      'unsubscribed',
    );
  });

  it('keeps presence in the cluster and tells contacts when a user comes and goes', async () => {
    await expectPresenceComesAndGoes(a, b, redis);
  });

  it('refreshes and drops the presence of many users spread over the shards', async () => {
    const c = await startServer({ env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' } });
    const users = await Promise.all(Array.from({ length: 8 }, () => register(c.url)));
    const sockets = await Promise.all(users.map((user) => TestSocket.open(c.url, user.token)));
    const keys = users.map((user) => RedisKeys.presence(user.id));
    expect(new Set(await Promise.all(keys.map(nodeOf))).size).toBeGreaterThan(1);

    const fields = users.map((user) => presenceField(c.config.instanceId, user.deviceId));
    const before = await Promise.all(keys.map((key, index) => redis.hGet(key, fields[index])));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await c.app.get(RealtimeGateway)['beat'](); // the heartbeat tick: one refresh per user, across slots
    const after = await Promise.all(keys.map((key, index) => redis.hGet(key, fields[index])));
    after.forEach((deadline, index) => expect(Number(deadline)).toBeGreaterThan(Number(before[index])));

    await c.shutdown(); // drops this instance's field of every user at once, not after the TTL
    for (const user of users) expect(await isOnline(redis, user.id)).toBe(false);
    await Promise.all(sockets.map((socket) => socket.closed));
  });
});
