import { redisClientOptions, redisClusterOptions, redisSettings } from './client';

describe('Redis settings', () => {
  it('picks the mode from REDIS_CLUSTER (single by default) and the password from the auth token', () => {
    expect(redisSettings({ REDIS_URL: 'redis://127.0.0.1:6379' }, {}, 'n').mode).toBe('single');
    expect(redisSettings({ REDIS_URL: 'redis://h:6379', REDIS_CLUSTER: 'false' }, {}, 'n').mode).toBe('single');
    expect(
      redisSettings({ REDIS_URL: 'rediss://h:6379', REDIS_CLUSTER: 'true' }, { redisAuthToken: 't' }, 'n'),
    ).toEqual({
      mode: 'cluster',
      url: 'rediss://h:6379',
      password: 't',
      name: 'n',
    });
  });

  it('single mode: the URL, the token, fail fast while disconnected, capped backoff', () => {
    const options = redisClientOptions({ mode: 'single', url: 'rediss://h:6379', password: 't', name: 'n' });
    expect(options).toMatchObject({ url: 'rediss://h:6379', password: 't', name: 'n', disableOfflineQueue: true });
    const socket = options.socket as { connectTimeout: number; reconnectStrategy: (retries: number) => number };
    expect(socket.connectTimeout).toBe(2_000);
    expect([0, 3, 50].map(socket.reconnectStrategy)).toEqual([100, 800, 2_000]);
  });

  it('cluster mode: TLS and credentials in the defaults every discovered node connection is made from', () => {
    const tls = redisClusterOptions({
      mode: 'cluster',
      url: 'rediss://clustercfg.example:6379',
      password: 't',
      name: 'n',
    });
    expect(tls.rootNodes).toEqual([{ url: 'rediss://clustercfg.example:6379' }]);
    expect(tls.defaults).toMatchObject({
      password: 't',
      name: 'n',
      disableOfflineQueue: true,
      socket: { tls: true, connectTimeout: 2_000 },
    });
    expect(tls.useReplicas).toBe(false);

    const local = redisClusterOptions({ mode: 'cluster', url: 'redis://default:p%40ss@127.0.0.1:7000', name: 'n' });
    expect(local.defaults).toMatchObject({ username: 'default', password: 'p@ss', socket: { tls: false } });
  });
});
