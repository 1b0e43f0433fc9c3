import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { parseEnvFile } from '../../common/config/local-env-file';
import { RedisChannels } from '../../common/redis/keys';
import { redisSettings, RedisSettings } from '../../common/redis/client';
import { createRedisConnection, RedisConnection } from '../../common/redis/connection';
import { elastiCacheTokenSigner } from '../../common/redis/iam-token';
import { isOnline } from '../../common/redis/presence';
import { repositoryRoot } from '../../common/repository-root';
import { ElastiCacheIamProxy } from '../../scripts/testing/aws/elasticache-iam-proxy';
import { CredentialStore } from '../../scripts/testing/aws/iam';
import { InstanceMetadataStandIn } from '../../scripts/testing/aws/instance-metadata';
import { createTestCertificates, TestCertificates } from '../../scripts/testing/tls-ca';
import type { ServerApp } from '../bootstrap';
import { RedisService } from '../infrastructure/redis.service';
import {
  call,
  conversationOf,
  env,
  eventually,
  sleep,
  register,
  startServer,
  storedMessageEvent,
  TestSocket,
} from './helpers';

jest.setTimeout(60_000);

const CACHE = 'cyphr-test-redis';
const API_USER = 'cyphr-test-api';
const WORKER_USER = 'cyphr-test-worker';
const API_ROLE = 'cyphr-test-api-role';
const WORKER_ROLE = 'cyphr-test-worker-role';

/** The ACL users scripts/services/redis.sh made for this checkout: they stand in for the ElastiCache users. */
function localAclUsers(): Record<string, { username: string; password: string }> {
  const file = join(repositoryRoot(), '.local', 'redis-users.env');
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run services:up`);
  const users = parseEnvFile(readFileSync(file, 'utf8'));
  return {
    [API_USER]: { username: users.REDIS_API_USER, password: users.REDIS_API_PASSWORD },
    [WORKER_USER]: { username: users.REDIS_WORKER_USER, password: users.REDIS_WORKER_PASSWORD },
  };
}

/**
 * The API on the AWS path to Redis: REDIS_AUTH=iam, credentials from the instance role through an IMDS stand-in,
 * TLS to an ElastiCache stand-in that checks each IAM token and AUTHs as a local ACL user in its place.
 */
describe('Redis with ElastiCache IAM authentication', () => {
  let certs: TestCertificates;
  let store: CredentialStore;
  let imds: InstanceMetadataStandIn;
  let proxy: ElastiCacheIamProxy;
  let app: ServerApp;
  let worker: RedisConnection;
  const saved = { ...process.env };

  /** The settings the API builds from its env file, plus the stand-in's CA (Node's default CAs on AWS). */
  const iamSettings = (user: string, name: string): RedisSettings => ({
    ...redisSettings(
      {
        REDIS_URL: proxy.url,
        REDIS_AUTH: 'iam',
        REDIS_USER: user,
        REDIS_IAM_CACHE_NAME: CACHE,
        AWS_REGION: 'us-east-1',
      },
      {},
      name,
    ),
    tlsCa: certs.ca,
  });

  beforeAll(async () => {
    certs = await createTestCertificates();
    store = new CredentialStore()
      .allow(API_ROLE, 'elasticache', API_USER)
      .allow(WORKER_ROLE, 'elasticache', WORKER_USER);
    imds = await InstanceMetadataStandIn.start({ role: API_ROLE, credentials: store });
    // The SDK's default chain must find the instance role and nothing else.
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
      delete process.env[name];
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent';
    process.env.AWS_CONFIG_FILE = '/nonexistent';
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url;

    const backend = new URL(env().REDIS_URL);
    proxy = await ElastiCacheIamProxy.start({
      credentials: store,
      cacheName: CACHE,
      backend: { host: backend.hostname, port: Number(backend.port) },
      users: localAclUsers(),
      tls: certs,
    });
    const redisEnv = { REDIS_URL: proxy.url, REDIS_AUTH: 'iam', REDIS_USER: API_USER, REDIS_IAM_CACHE_NAME: CACHE };
    app = await startServer({ env: redisEnv, redis: iamSettings(API_USER, 'cyphr-server-iam-test') });
    expect(app.config.redis.iam).toEqual({ user: API_USER, cacheName: CACHE, region: 'us-east-1' });
    // The worker's fan-out, as the worker's ElastiCache user with the worker role's own credentials.
    worker = createRedisConnection({
      ...iamSettings(WORKER_USER, 'cyphr-worker-iam-test'),
      iam: {
        user: WORKER_USER,
        cacheName: CACHE,
        region: 'us-east-1',
        credentials: async () => store.credentialsFor(WORKER_ROLE),
      },
    });
    await worker.connect();
  });

  afterAll(async () => {
    await worker?.close();
    await app?.shutdown();
    await proxy?.close();
    await imds?.close();
    await certs?.remove();
    process.env = saved;
  });

  const redisService = () => app.app.get(RedisService);

  /** Alice logs in and sends to Bob through the API; the worker's publish reaches Bob's socket through the app's subscriber. */
  async function expectMessagesFlow(): Promise<void> {
    const [alice, bob] = await Promise.all([register(app.url, 'alice'), register(app.url, 'bob')]);
    const conversationId = await conversationOf(app.url, alice, [bob]);
    const bobSocket = await TestSocket.open(app.url, bob.token);
    try {
      expect(await isOnline(worker, bob.id)).toBe(true); // presence the API wrote as its user, read as the worker's
      // Login goes through the Redis rate limiter as the API's user.
      const login = await call(app.url, 'POST', '/v1/auth/login', {
        body: { username: alice.username, password: alice.password },
      });
      expect(login.status).toBe(200);
      const send = await call(app.url, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: login.body.accessToken,
        body: { clientMessageId: crypto.randomUUID(), ciphertext: Buffer.from('hello').toString('base64') },
      });
      expect(send.status).toBe(202);
      const { event } = await storedMessageEvent(conversationId, alice.id);
      expect(await worker.publish(RedisChannels.user(bob.id), JSON.stringify(event))).toBe(1);
      expect(await bobSocket.next((e) => e.type === 'message')).toEqual(event);
    } finally {
      bobSocket.close();
    }
  }

  it('connects over verified TLS with tokens signed from the instance role, and messages flow', async () => {
    expect(redisService().isReady).toBe(true);
    await expectMessagesFlow();
    expect(imds.credentialFetches).toBeGreaterThan(0);
    const api = proxy.auths.filter((auth) => auth.user === API_USER);
    expect(api.length).toBeGreaterThanOrEqual(2); // the command connection and the subscriber
    expect(proxy.auths.every((auth) => auth.ok)).toBe(true);
    expect(proxy.auths.some((auth) => auth.user === WORKER_USER)).toBe(true);
  });

  it('after every connection is dropped and 15 minutes pass, reconnects with fresh tokens and keeps working', async () => {
    const before = proxy.auths.length;
    // The stand-in's clock moves on: every token signed so far is past its 15 minutes (the next second's are fine).
    store.expireIssuedTokens();
    await sleep(1_100);
    proxy.dropAll();
    const apiAuthsSince = () => proxy.auths.slice(before).filter((auth) => auth.user === API_USER && auth.ok).length;
    await eventually(
      async () => apiAuthsSince() >= 2 && redisService().isReady && redisService().subscriber.isReady && worker.isReady,
      15_000,
      'all connections back',
    );
    const after = proxy.auths.slice(before);
    expect(after.filter((auth) => auth.user === API_USER && auth.ok).length).toBeGreaterThanOrEqual(2);
    expect(after.every((auth) => auth.ok)).toBe(true);
    await expectMessagesFlow();
  });

  it('re-AUTHs a live command connection in place with a fresh token (the 12-hour limit)', async () => {
    const before = proxy.auths.length;
    await redisService().client.reauthenticate();
    const [reauth] = proxy.auths.slice(before);
    expect(reauth).toMatchObject({ user: API_USER, ok: true });
    // The connection that authenticated earlier: in place, not a reconnect.
    expect(proxy.auths.slice(0, before).some((auth) => auth.connection === reauth.connection)).toBe(true);
    expect(await redisService().client.ping()).toBe('PONG');
  });

  describe('refuses', () => {
    // Clear of the second in which the suite above expired every token.
    beforeAll(() => sleep(1_100));
    const tryAuth = async (username: string, password: string, trust: 'test CA' | 'default CAs' = 'test CA') => {
      const client = createClient({
        url: proxy.url,
        username,
        password,
        socket: {
          tls: true,
          ca: trust === 'test CA' ? certs.ca : undefined,
          reconnectStrategy: false,
          connectTimeout: 2_000,
        },
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return await client.ping();
      } finally {
        if (client.isOpen) client.destroy();
      }
    };
    const sign = (role: string, user: string) =>
      elastiCacheTokenSigner({
        cacheName: CACHE,
        user,
        region: 'us-east-1',
        credentials: async () => store.credentialsFor(role),
      })();

    it('a token for another user than the AUTH names', async () => {
      await expect(tryAuth(API_USER, await sign(WORKER_ROLE, WORKER_USER))).rejects.toThrow(/WRONGPASS/);
      expect(proxy.auths.at(-1)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/is for cyphr-test-worker/),
      });
    });

    it('a role signing for a user it may not connect as', async () => {
      await expect(tryAuth(API_USER, await sign(WORKER_ROLE, API_USER))).rejects.toThrow(/WRONGPASS/);
      expect(proxy.auths.at(-1)?.reason).toMatch(/may not connect as/);
    });

    it('an expired token, while a fresh one works', async () => {
      const old = await sign(API_ROLE, API_USER);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      store.expireIssuedTokens();
      await expect(tryAuth(API_USER, old)).rejects.toThrow(/WRONGPASS/);
      expect(proxy.auths.at(-1)?.reason).toBe('token expired');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await tryAuth(API_USER, await sign(API_ROLE, API_USER))).toBe('PONG');
    });

    it('a bad token in HELLO 3 AUTH (RESP3 clients) too, while a good one works', async () => {
      const hello = async (password: string) => {
        const client = createClient({
          url: proxy.url,
          username: API_USER,
          password,
          RESP: 3,
          socket: { tls: true, ca: certs.ca, reconnectStrategy: false },
        });
        client.on('error', () => undefined);
        try {
          await client.connect();
          return await client.ping();
        } finally {
          if (client.isOpen) client.destroy();
        }
      };
      await expect(hello(await sign(WORKER_ROLE, API_USER))).rejects.toThrow(/WRONGPASS/);
      expect(await hello(await sign(API_ROLE, API_USER))).toBe('PONG');
    });

    it('a server whose certificate does not chain to a trusted CA', async () => {
      await expect(tryAuth(API_USER, await sign(API_ROLE, API_USER), 'default CAs')).rejects.toThrow(/certificate/i);
    });
  });
});
