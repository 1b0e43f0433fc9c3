import type { RedisClientOptions, RedisClusterOptions } from 'redis';
import type { SharedSettings } from '../config/environment';
import { ResolvedSecrets } from '../config/secrets';
import { ElastiCacheIamOptions, elastiCacheTokenSigner } from './iam-token';

/**
 * How the server and the worker reach Redis. Two modes, chosen by REDIS_CLUSTER, behind one interface
 * (RedisConnection in ./connection.ts), so no caller knows which one it has:
 *
 * - `single` (REDIS_CLUSTER unset or `false`: local runs, the small and medium tiers): one node-redis client
 *   (`createClient`) on REDIS_URL, the primary endpoint (replicas, if any, only take over on failover).
 *   Pub/sub is classic PUBLISH/SUBSCRIBE.
 * - `cluster` (REDIS_CLUSTER=true: the large tier, ElastiCache with cluster mode and several shards; infra
 *   sets it from the cache construct): a node-redis cluster client (`createCluster`) that discovers the shards
 *   from REDIS_URL, the configuration endpoint, and routes each command to the shard owning its key's slot
 *   (following MOVED/ASK on resharding and failover). Pub/sub is sharded (SPUBLISH/SSUBSCRIBE, Redis 7+): a
 *   user's channel lives on the shard owning its slot, so a message travels to one shard, not to every node.
 *
 * Both modes: `rediss://` means TLS (ElastiCache in-transit encryption), verified against Node's default CAs
 * (ElastiCache's certificates chain to Amazon's public roots, which Node ships). Credentials: with REDIS_AUTH=iam
 * (the AWS path) a fresh ElastiCache IAM token for REDIS_USER on every connection and reconnection, every node's
 * in cluster mode (see iamCredentials); otherwise the URL's user and password, or REDIS_AUTH_SECRET_ARN's token.
 * Connecting times out after 2 s, reconnects back off up to 2 s forever, and commands fail at once while
 * disconnected (no offline queue: callers fall back to PostgreSQL).
 * Cluster rules the callers follow: a MULTI touches one key (RedisCommands.transaction(key)); work over many
 * keys (publishing to many users, presence of many users) is parallel single-key commands, which node-redis
 * pipelines per node.
 */
export type RedisMode = 'single' | 'cluster';

export interface RedisSettings {
  mode: RedisMode;
  /** redis:// or rediss://; in cluster mode the configuration endpoint (any node works locally). */
  url: string;
  /** The ElastiCache auth token; locally the password is in the URL. */
  password?: string;
  /** CLIENT SETNAME on every connection: who is connected shows in CLIENT LIST. */
  name: string;
  /** REDIS_AUTH=iam: AUTH as `user` with an IAM token signed for `cacheName` (ElastiCache IAM authentication). */
  iam?: ElastiCacheIamOptions;
  /**
   * PEM CAs to trust instead of Node's defaults. Never set from the environment: production verifies against the
   * default CAs. In-process tests set it for their stand-in's private CA, because Node reads NODE_EXTRA_CA_CERTS
   * only at start-up (processes the boot test spawns get NODE_EXTRA_CA_CERTS instead).
   */
  tlsCa?: string;
  /**
   * The caller bounds every command with a deadline of its own (the API's RedisService.run). node-redis then arms
   * none (its default is an AbortSignal.timeout per command: ~10 µs of CPU each, two thirds of a command's cost) and
   * refuses commands past MAX_QUEUED_COMMANDS instead, so a connection that stops answering cannot queue without end.
   */
  callerDeadlines?: boolean;
  /** Cluster mode, tests only: announced node address (`host:port`) → where to connect instead (a proxy per node). */
  nodeAddressMap?: Record<string, { host: string; port: number }>;
}

/** node-redis's async credentials provider: asked for credentials at every connection's handshake. */
export interface RedisCredentialsProvider {
  readonly type: 'async-credentials-provider';
  credentials: () => Promise<{ username?: string; password?: string }>;
}

/**
 * ElastiCache IAM credentials: node-redis calls `credentials()` in the handshake of every connection it opens,
 * the first and every reconnection, and in cluster mode for every node (the provider sits in the defaults each
 * node's connection is made from). So a connection always AUTHs with a token signed moments ago, never with one
 * past its 15 minutes.
 */
export function iamCredentials(iam: ElastiCacheIamOptions): RedisCredentialsProvider {
  const sign = elastiCacheTokenSigner(iam);
  return {
    type: 'async-credentials-provider',
    credentials: async () => ({ username: iam.user, password: await sign() }),
  };
}

const CONNECT_TIMEOUT_MS = 2_000;
/** Commands written and not yet answered, per connection, when the caller keeps the deadlines (callerDeadlines). */
export const MAX_QUEUED_COMMANDS = 10_000;

const deadlineOptions = (settings: RedisSettings) =>
  settings.callerDeadlines ? { commandOptions: { timeout: 0 }, commandsQueueMaxLength: MAX_QUEUED_COMMANDS } : {};
/** Capped exponential backoff, forever: a Redis outage degrades the programs, it never ends them. */
export const reconnectDelayMs = (retries: number): number => Math.min(100 * 2 ** retries, 2_000);

export function redisSettings(
  env: Pick<SharedSettings, 'REDIS_URL'> &
    Partial<
      Pick<SharedSettings, 'REDIS_CLUSTER' | 'REDIS_AUTH' | 'REDIS_USER' | 'REDIS_IAM_CACHE_NAME' | 'AWS_REGION'>
    >,
  secrets: ResolvedSecrets,
  name: string,
): RedisSettings {
  const settings: RedisSettings = {
    mode: env.REDIS_CLUSTER === 'true' ? 'cluster' : 'single',
    url: env.REDIS_URL,
    password: secrets.redisAuthToken,
    name,
  };
  if (env.REDIS_AUTH !== 'iam') return settings;
  if (!env.REDIS_USER || !env.REDIS_IAM_CACHE_NAME || !env.AWS_REGION)
    throw new Error('REDIS_AUTH=iam needs REDIS_USER, REDIS_IAM_CACHE_NAME and AWS_REGION');
  return {
    ...settings,
    password: undefined,
    iam: { user: env.REDIS_USER, cacheName: env.REDIS_IAM_CACHE_NAME, region: env.AWS_REGION },
  };
}

const socketOptions = (settings: RedisSettings) => ({
  connectTimeout: CONNECT_TIMEOUT_MS,
  reconnectStrategy: reconnectDelayMs,
  ...(settings.tlsCa ? { ca: settings.tlsCa } : {}),
});

/** With IAM: the provider to share between the options and the re-AUTH timer (connection.ts). */
export const credentialsFor = (settings: RedisSettings): RedisCredentialsProvider | undefined =>
  settings.iam ? iamCredentials(settings.iam) : undefined;

/** Single mode: node-redis client options (the URL carries host, port, TLS and, locally, credentials). */
export function redisClientOptions(
  settings: RedisSettings,
  credentialsProvider = credentialsFor(settings),
): RedisClientOptions {
  return {
    url: settings.url,
    password: settings.password,
    credentialsProvider,
    name: settings.name,
    socket: socketOptions(settings),
    // Fail commands fast while disconnected instead of queueing them until reconnect.
    disableOfflineQueue: true,
    ...deadlineOptions(settings),
  };
}

/**
 * Cluster mode: the URL is only the root node for discovering the shards; the connections to the
 * discovered nodes are made from `defaults` alone, so TLS and credentials must be there too.
 */
export function redisClusterOptions(
  settings: RedisSettings,
  credentialsProvider = credentialsFor(settings),
): RedisClusterOptions {
  const url = new URL(settings.url);
  const password = settings.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  return {
    rootNodes: [{ url: settings.url }],
    defaults: {
      ...(credentialsProvider ? { credentialsProvider } : { username, password }),
      name: settings.name,
      // TLS with the node's host name as SNI: ElastiCache announces host names in cluster mode with TLS.
      socket: { ...socketOptions(settings), tls: url.protocol === 'rediss:' },
      disableOfflineQueue: true,
      ...deadlineOptions(settings),
    },
    // Writes and reads go to the masters: a replica's lag would show as a revoked session still live.
    useReplicas: false,
    ...(settings.nodeAddressMap ? { nodeAddressMap: settings.nodeAddressMap } : {}),
  } as RedisClusterOptions;
}
