import { createClient, RedisClientOptions } from 'redis';
import { EnvironmentVariables } from '../config/environment';
import { ResolvedSecrets } from '../config/secrets';

export type CyphrRedisClient = ReturnType<typeof createClient>;

/**
 * Options for node-redis from REDIS_URL (rediss:// means TLS, as ElastiCache in-transit encryption needs)
 * plus the auth token resolved from Secrets Manager. Reconnects with capped backoff forever: a Redis
 * outage degrades the API, it never ends the process.
 */
export function redisClientOptions(env: Pick<EnvironmentVariables, 'REDIS_URL'>, secrets: ResolvedSecrets, name: string): RedisClientOptions {
  return {
    url: env.REDIS_URL,
    password: secrets.redisAuthToken,
    name,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2_000),
    },
    // Fail commands fast while disconnected instead of queueing them until reconnect.
    disableOfflineQueue: true,
  };
}

export function createRedisClient(env: Pick<EnvironmentVariables, 'REDIS_URL'>, secrets: ResolvedSecrets, name: string): CyphrRedisClient {
  return createClient(redisClientOptions(env, secrets, name)) as CyphrRedisClient;
}
