import { randomBytes } from 'node:crypto';
import { createRedisConnection, RedisConnection } from '../redis/connection';
import { ElastiCacheIamProxy } from '../../scripts/testing/aws/elasticache-iam-proxy';
import { CredentialStore } from '../../scripts/testing/aws/iam';
import { RedisClusterHandle, startRedisCluster } from '../../scripts/testing/redis-cluster';
import { createTestCertificates, TestCertificates } from '../../scripts/testing/tls-ca';
import { eventually, sleep } from '../../scripts/testing/waiting';

jest.setTimeout(60_000);

const CACHE = 'cyphr-test-redis';
const USER = 'cyphr-test-api';
const ROLE = 'cyphr-test-api-role';
const ACL = ['~*', '&*', '+@all', '-@dangerous'];

/**
 * Cluster mode with ElastiCache IAM authentication: an IAM stand-in in front of every node of a local Redis
 * Cluster, the client routed to them by the announced addresses. Every node connection must AUTH with its own
 * fresh token, on first connect and after every reconnect.
 */
describe('RedisConnection on a cluster with IAM authentication', () => {
  let certs: TestCertificates;
  let cluster: RedisClusterHandle;
  let proxies: ElastiCacheIamProxy[];
  let connection: RedisConnection;
  const store = new CredentialStore().allow(ROLE, 'elasticache', USER);

  beforeAll(async () => {
    certs = await createTestCertificates();
    const password = randomBytes(16).toString('hex');
    cluster = await startRedisCluster({ password });
    const local = { username: 'cyphr-api', password: randomBytes(16).toString('hex') };
    for (const port of cluster.ports)
      await cluster.cli(port, 'ACL', 'SETUSER', local.username, 'on', `>${local.password}`, ...ACL);
    proxies = await Promise.all(
      cluster.ports.map((port) =>
        ElastiCacheIamProxy.start({
          credentials: store,
          cacheName: CACHE,
          backend: { host: '127.0.0.1', port },
          users: { [USER]: local },
          tls: certs,
        }),
      ),
    );
    connection = createRedisConnection({
      mode: 'cluster',
      url: proxies[0].url,
      name: 'iam-cluster',
      iam: { user: USER, cacheName: CACHE, region: 'us-east-1', credentials: async () => store.credentialsFor(ROLE) },
      tlsCa: certs.ca,
      nodeAddressMap: Object.fromEntries(
        cluster.ports.map((port, index) => [`127.0.0.1:${port}`, { host: 'localhost', port: proxies[index].port }]),
      ),
    });
    await connection.connect();
  });

  afterAll(async () => {
    await connection?.close();
    await Promise.all((proxies ?? []).map((proxy) => proxy.close()));
    await cluster?.stop();
    await certs?.remove();
  });

  const okAuthsPerNode = (since: number[]) =>
    proxies.map((proxy, index) => proxy.auths.slice(since[index]).filter((auth) => auth.ok).length);
  const marks = () => proxies.map((proxy) => proxy.auths.length);

  it('authenticates every node connection with an IAM token, over TLS', async () => {
    expect(await connection.ping()).toBe('PONG'); // every master answers
    const keys = Array.from({ length: 12 }, (_, index) => `cyphr-iam-test:${index}`);
    await Promise.all(keys.map((key) => connection.set(key, 'v', { EX: 60 })));
    expect(await connection.del(keys)).toBe(keys.length);
    expect(okAuthsPerNode(proxies.map(() => 0)).every((count) => count >= 1)).toBe(true);
    expect(proxies.flatMap((proxy) => proxy.auths).every((auth) => auth.ok)).toBe(true);
  });

  it('after every node drops its connections and 15 minutes pass, reconnects each with a fresh token', async () => {
    const since = marks();
    store.expireIssuedTokens();
    await sleep(1_100);
    proxies.forEach((proxy) => proxy.dropAll());
    await eventually(
      async () => {
        if (!okAuthsPerNode(since).every((count) => count >= 1)) return false;
        return (await connection.ping().catch(() => undefined)) === 'PONG';
      },
      20_000,
      'every node reconnected',
    );
    expect(proxies.flatMap((proxy, index) => proxy.auths.slice(since[index])).every((auth) => auth.ok)).toBe(true);
  });

  it('re-AUTHs every master connection in place', async () => {
    await eventually(async () => connection.isReady, 10_000, 'ready');
    const since = marks();
    await connection.reauthenticate();
    expect(okAuthsPerNode(since)).toEqual(proxies.map(() => 1));
    expect(await connection.ping()).toBe('PONG');
  });
});
