import { randomUUID } from 'node:crypto';
import { createRedisConnection, RedisConnection } from '../redis/connection';
import { freeClusterPorts, RedisClusterHandle, startRedisCluster } from '../../scripts/testing/redis-cluster';

jest.setTimeout(60_000);

/** RedisConnection in cluster mode, below the server and the worker: what they rely on from it. */
describe('RedisConnection on a Redis Cluster', () => {
  let cluster: RedisClusterHandle | undefined;
  let connection: RedisConnection | undefined;

  afterEach(async () => {
    await connection?.close();
    await cluster?.stop();
    connection = cluster = undefined;
  });

  it('started before the cluster is reachable, connects once it is (as an instance booting during an outage)', async () => {
    const password = `pw-${randomUUID()}`;
    const ports = await freeClusterPorts(3);
    connection = createRedisConnection({
      mode: 'cluster',
      url: `redis://127.0.0.1:${ports[0]}`,
      password,
      name: 'late',
    });
    const errors: Error[] = [];
    connection.onError((error) => errors.push(error));
    let connected = false;
    const connecting = connection.connect().then(() => (connected = true));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(connected).toBe(false);
    expect(connection.isReady).toBe(false);
    expect(errors.length).toBeGreaterThan(0);

    cluster = await startRedisCluster({ ports, password });
    await connecting;
    expect(connection.isReady).toBe(true);
    expect(await connection.ping()).toBe('PONG');
  });

  it('runs transactions per key, deletes keys across slots and publishes to sharded subscribers', async () => {
    cluster = await startRedisCluster();
    connection = createRedisConnection({ mode: 'cluster', url: cluster.url, name: 'commands' });
    await connection.connect();
    const keys = Array.from({ length: 12 }, (_, index) => `cyphr-test:${index}`);
    await Promise.all(keys.map((key) => connection!.transaction(key).hSet('f', '1').expire(60).exec()));
    expect(await connection.del(keys)).toBe(keys.length);
    expect(await connection.transaction('cyphr-test:n').incr().expire(60).exec()).toEqual([1, 1]);

    const subscriber = connection.duplicate('subscriber');
    await subscriber.connect();
    try {
      const received: string[] = [];
      const channels = ['events:user:a', 'events:user:b', 'events:user:c'];
      for (const channel of channels) await subscriber.subscribe(channel, (message) => received.push(message));
      expect(subscriber.subscribedChannels()).toEqual(new Set(channels));
      for (const channel of channels) expect(await connection.publish(channel, channel)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received.sort()).toEqual(channels);
      await subscriber.unsubscribe('events:user:a');
      expect(subscriber.subscribedChannels()).toEqual(new Set(channels.slice(1)));
    } finally {
      await subscriber.close();
    }
  });
});
