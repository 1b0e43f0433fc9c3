import { MAX_QUEUED_COMMANDS, redisClientOptions, redisClusterOptions, redisSettings } from './client';

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

  it('a caller that keeps its own deadlines gets no per-command timeout from node-redis, and a bounded queue', () => {
    const single = { mode: 'single' as const, url: 'redis://h:6379', name: 'n' };
    expect(redisClientOptions(single)).not.toHaveProperty('commandOptions');
    const deadlines = { commandOptions: { timeout: 0 }, commandsQueueMaxLength: MAX_QUEUED_COMMANDS };
    expect(redisClientOptions({ ...single, callerDeadlines: true })).toMatchObject(deadlines);
    expect(redisClusterOptions({ ...single, mode: 'cluster', callerDeadlines: true }).defaults).toMatchObject(
      deadlines,
    );
  });

  it('REDIS_AUTH=iam: no password, the user and cache the token is signed for, and a fresh token per handshake', async () => {
    const env = {
      REDIS_URL: 'rediss://master.cyphr-prod-redis.abc.use1.cache.amazonaws.com:6379',
      REDIS_AUTH: 'iam' as const,
      REDIS_USER: 'cyphr-prod-api',
      REDIS_IAM_CACHE_NAME: 'cyphr-prod-redis',
      AWS_REGION: 'us-east-1',
    };
    const settings = redisSettings(env, { redisAuthToken: 'ignored' }, 'n');
    expect(settings).toMatchObject({
      password: undefined,
      iam: { user: 'cyphr-prod-api', cacheName: 'cyphr-prod-redis' },
    });
    expect(() => redisSettings({ ...env, REDIS_USER: undefined }, {}, 'n')).toThrow(/REDIS_USER/);

    const credentials = { accessKeyId: 'AKID', secretAccessKey: 'secret' };
    const withStaticKeys = { ...settings, iam: { ...settings.iam!, credentials } };
    const single = redisClientOptions(withStaticKeys);
    expect(single.password).toBeUndefined();
    // Default CAs: no `ca` of our own unless a test passes its private CA.
    expect(single.socket).not.toHaveProperty('ca');
    const provider = single.credentialsProvider as {
      type: string;
      credentials(): Promise<{ username?: string; password?: string }>;
    };
    expect(provider.type).toBe('async-credentials-provider');
    const first = await provider.credentials();
    expect(first.username).toBe('cyphr-prod-api');
    expect(first.password).toMatch(/^cyphr-prod-redis\/\?Action=connect&User=cyphr-prod-api&X-Amz-/);

    // Cluster: the provider is in the defaults every node's connection is made from; no static password.
    const cluster = redisClusterOptions({ ...withStaticKeys, mode: 'cluster' });
    expect(cluster.defaults).toMatchObject({ socket: { tls: true } });
    expect(cluster.defaults).not.toHaveProperty('password');
    expect((cluster.defaults as { credentialsProvider?: { type: string } }).credentialsProvider?.type).toBe(
      'async-credentials-provider',
    );
  });
});
