import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { createRedisConnection, RedisCommands, RedisConnection } from '../../common/redis/connection';
import { ServerConfig } from '../config/server-config';

export class RedisUnavailableError extends Error {
  constructor(what: string, cause?: unknown) {
    super(`Redis unavailable (${what})${cause instanceof Error ? `: ${cause.message}` : ''}`);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * The instance's two Redis connections: `client` for commands and publishing, `subscriber` for the
 * pub/sub channels of locally connected users. Single node or cluster per REDIS_CLUSTER (common/redis/client.ts);
 * callers see the same RedisCommands either way. Redis is a cache and a bus, never the source of truth:
 * `run` fails fast (not ready, or slower than the command timeout) so callers fall back to the database,
 * and the clients reconnect forever in the background (node-redis re-subscribes channels on reconnect).
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: RedisConnection;
  readonly subscriber: RedisConnection;
  private lastErrorLog = 0;

  constructor(@Inject(ServerConfig) private readonly config: ServerConfig) {
    this.client = createRedisConnection(config.redis);
    this.subscriber = this.client.duplicate('subscriber');
    for (const [name, connection] of [
      ['client', this.client],
      ['subscriber', this.subscriber],
    ] as const) {
      connection.onError((error: Error) => this.logError(name, error));
      connection.onReady(() => this.logger.log(`redis ${name} ready (${connection.mode})`));
    }
  }

  /** Connects both clients; waits briefly so a healthy start is fully ready, but never blocks start-up on Redis. */
  async onModuleInit(): Promise<void> {
    const connecting = Promise.all([this.client.connect(), this.subscriber.connect()]).catch((error: unknown) =>
      this.logError('connect', error as Error),
    );
    await Promise.race([connecting, new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
    if (!this.isReady) this.logger.warn('Redis not reachable at start-up; serving from the database until it is');
  }

  get isReady(): boolean {
    return this.client.isReady;
  }

  /** Runs Redis commands with a deadline; throws RedisUnavailableError when Redis cannot answer now. */
  async run<T>(what: string, command: (client: RedisCommands) => Promise<T>): Promise<T> {
    if (!this.client.isReady) throw new RedisUnavailableError(what);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisUnavailableError(`${what}: no answer in ${this.config.redisCommandTimeoutMs} ms`)),
        this.config.redisCommandTimeoutMs,
      );
    });
    try {
      return await Promise.race([command(this.client), deadline]);
    } catch (error) {
      throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(what, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** As `run`, but a failure is logged and answers `undefined`: for caches and best-effort fan-out. */
  async attempt<T>(what: string, command: (client: RedisCommands) => Promise<T>): Promise<T | undefined> {
    try {
      return await this.run(what, command);
    } catch (error) {
      this.logError(what, error as Error);
      return undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const connection of [this.subscriber, this.client]) await connection.close();
  }

  /** At most one line a second: a Redis outage must not flood the logs. */
  private logError(what: string, error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 1_000) return;
    this.lastErrorLog = now;
    this.logger.warn(`redis ${what}: ${error.message}`);
  }
}
