import { createClient, createCluster } from 'redis';
import {
  credentialsFor,
  reconnectDelayMs,
  redisClientOptions,
  redisClusterOptions,
  RedisCredentialsProvider,
  RedisMode,
  RedisSettings,
} from './client';

/**
 * ElastiCache drops an IAM-authenticated connection 12 hours after its last AUTH ("Authenticating with IAM":
 * a new AUTH or HELLO with a fresh token extends it by 12 hours). Every 10 hours each command connection re-AUTHs
 * in place with a fresh token, rather than reconnecting: it stays up, so no command fails over to PostgreSQL for
 * a planned event. A subscriber connection cannot: RESP2 allows no AUTH while subscribed (node-redis skips it), so
 * ElastiCache closes it at 12 hours and node-redis reconnects with a fresh token and re-subscribes, the same path
 * as any network blip (the gateway re-subscribes what is missing when it is ready).
 */
export const IAM_REAUTH_INTERVAL_MS = 10 * 60 * 60 * 1000;

/**
 * Commands queued on one key and run atomically (MULTI/EXEC). Bound to its key, so a transaction can never
 * span hash slots; in cluster mode it runs on the shard owning the key. `exec` answers one reply per command.
 */
export interface RedisTransaction {
  del(): this;
  incr(): this;
  incrBy(amount: number): this;
  decr(): this;
  expire(seconds: number): this;
  pExpire(milliseconds: number): this;
  hSet(field: string, value: string): this;
  hSet(fields: Record<string, string>): this;
  hSetNX(field: string, value: string): this;
  hDel(field: string): this;
  hGetAll(): this;
  sAdd(members: string[]): this;
  exec(): Promise<unknown[]>;
}

/**
 * The Redis commands Cyphr uses, the same in single and cluster mode. Each names one key (or channel), so
 * node-redis routes it to the right shard; calls made in the same tick are pipelined per node.
 */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: { EX?: number; NX?: boolean }): Promise<string | null>;
  /** Several keys are deleted one command each, so they may live on different shards. */
  del(keys: string | string[]): Promise<number>;
  expire(key: string, seconds: number): Promise<number>;
  hGet(key: string, field: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  hSet(key: string, field: string, value: string): Promise<number>;
  hDel(key: string, field: string): Promise<number>;
  sMembers(key: string): Promise<string[]>;
  /** A Lua script on one key (so it runs on the shard owning that key in cluster mode), atomically. */
  eval(script: string, key: string, args: string[]): Promise<unknown>;
  /** Every master answers (cluster mode): a shard down is Redis down. */
  ping(): Promise<string>;
  /** PUBLISH in single mode, SPUBLISH (to the shard owning the channel) in cluster mode. */
  publish(channel: string, message: string): Promise<number>;
  transaction(key: string): RedisTransaction;
}

/** The node-redis surface used here; a client and a cluster both have it (RESP2 replies). */
interface NodeRedis {
  isOpen: boolean;
  isReady: boolean;
  /** AUTH on the open connection (node-redis skips it on a RESP2 connection that is subscribed). */
  reAuthenticate(credentials: { username?: string; password?: string }): Promise<void>;
  on(event: string, listener: (error: Error) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: object): Promise<string | null>;
  del(key: string): Promise<number>;
  expire(key: string, seconds: number): Promise<number>;
  hGet(key: string, field: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  hSet(key: string, field: string, value: string): Promise<number>;
  hDel(key: string, field: string): Promise<number>;
  sMembers(key: string): Promise<string[]>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  ping(): Promise<string>;
  publish(channel: string, message: string): Promise<number>;
  sPublish(channel: string, message: string): Promise<number>;
  multi(routing?: string): NodeMulti;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  sSubscribe(channel: string, listener: (message: string) => void): Promise<void>;
  sUnsubscribe(channel: string): Promise<void>;
  getPubSubListeners(type: 'CHANNELS' | 'SHARDED'): Map<string, unknown>;
  masters: Array<{ client?: NodeRedis; pubSub?: { client: NodeRedis } }>;
  nodeClient(node: unknown): Promise<NodeRedis>;
}
type NodeMulti = Record<string, (...args: unknown[]) => NodeMulti> & { exec(): Promise<unknown[]> };

class Transaction implements RedisTransaction {
  constructor(
    private readonly multi: NodeMulti,
    private readonly key: string,
  ) {}

  private add(command: string, ...args: unknown[]): this {
    this.multi[command](this.key, ...args);
    return this;
  }

  del = () => this.add('del');
  incr = () => this.add('incr');
  incrBy = (amount: number) => this.add('incrBy', amount);
  decr = () => this.add('decr');
  expire = (seconds: number) => this.add('expire', seconds);
  pExpire = (milliseconds: number) => this.add('pExpire', milliseconds);
  hSet(fieldOrFields: string | Record<string, string>, value?: string): this {
    return typeof fieldOrFields === 'string' ? this.add('hSet', fieldOrFields, value) : this.add('hSet', fieldOrFields);
  }
  hSetNX = (field: string, value: string) => this.add('hSetNX', field, value);
  hDel = (field: string) => this.add('hDel', field);
  hGetAll = () => this.add('hGetAll');
  sAdd = (members: string[]) => this.add('sAdd', members);
  exec = () => this.multi.exec();
}

/**
 * One logical Redis connection in either mode (see ./client.ts). A connection that subscribes should do
 * nothing else (in single mode a subscribed connection cannot run commands): use `duplicate()` for it.
 *
 * Lifecycle: `connect()` resolves once usable and keeps trying in the background when Redis is not there
 * yet (node-redis retries a single node by itself; a cluster's first discovery is retried here).
 */
export class RedisConnection implements RedisCommands {
  private readonly redis: NodeRedis;
  private closed = false;
  private readonly readyListeners: Array<() => void> = [];
  private readonly errorListeners: Array<(error: Error) => void> = [];
  private readonly credentials?: RedisCredentialsProvider;
  private readonly reauthTimer?: NodeJS.Timeout;

  constructor(readonly settings: RedisSettings) {
    this.credentials = credentialsFor(settings);
    this.redis = (settings.mode === 'cluster'
      ? createCluster(redisClusterOptions(settings, this.credentials))
      : createClient(redisClientOptions(settings, this.credentials))) as unknown as NodeRedis;
    if (this.credentials) {
      this.reauthTimer = setInterval(() => void this.reauthenticate(), IAM_REAUTH_INTERVAL_MS);
      this.reauthTimer.unref();
    }
    const error = (error: Error) => this.errorListeners.forEach((listener) => listener(error));
    const ready = () => this.readyListeners.forEach((listener) => listener());
    this.redis.on('error', error);
    if (settings.mode === 'cluster') {
      // Per-node events: a shard's command or subscriber connection lost or back.
      this.redis.on('node-error', error);
      this.redis.on('node-ready', ready);
      this.redis.on('sharded-channel-moved-error', error);
    } else {
      this.redis.on('ready', ready);
    }
  }

  get mode(): RedisMode {
    return this.settings.mode;
  }

  get isOpen(): boolean {
    return this.redis.isOpen;
  }

  /** Single: connected. Cluster: the shards are known and every master's connection is up. */
  get isReady(): boolean {
    if (!this.redis.isReady) return false;
    if (this.mode === 'single') return true;
    const masters = this.redis.masters;
    return masters.length > 0 && masters.every((master) => master.client?.isReady === true);
  }

  /** Another connection with the same settings: for subscriptions. */
  duplicate(role: string): RedisConnection {
    return new RedisConnection({ ...this.settings, name: `${this.settings.name}-${role}` });
  }

  onError(listener: (error: Error) => void): this {
    this.errorListeners.push(listener);
    return this;
  }

  /** Called whenever a connection (single) or a node's connection (cluster) becomes ready, again after an outage too. */
  onReady(listener: () => void): this {
    this.readyListeners.push(listener);
    return this;
  }

  async connect(): Promise<void> {
    if (this.mode === 'single') {
      await this.redis.connect();
      return;
    }
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.redis.connect();
        return;
      } catch (error) {
        this.errorListeners.forEach((listener) => listener(error as Error));
        await new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(attempt)).unref());
      }
    }
    throw new Error('Redis connection closed before it connected');
  }

  /**
   * With IAM: AUTH again with a fresh token on every ready command connection (every master's, in cluster mode),
   * which restarts ElastiCache's 12-hour clock for it (see IAM_REAUTH_INTERVAL_MS). Failures are reported to the
   * error listeners; the connection keeps its earlier authentication until ElastiCache drops it, then reconnects.
   */
  async reauthenticate(): Promise<void> {
    if (!this.credentials || this.closed) return;
    const clients =
      this.mode === 'single'
        ? [this.redis]
        : this.redis.masters.flatMap((master) => (master.client ? [master.client] : []));
    await Promise.all(
      clients
        .filter((client) => client.isReady)
        .map(async (client) => {
          try {
            await client.reAuthenticate(await this.credentials!.credentials());
          } catch (error) {
            this.errorListeners.forEach((listener) => listener(error as Error));
          }
        }),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.reauthTimer);
    this.closed = true;
    if (!this.redis.isOpen) return this.redis.destroy();
    await this.redis.close().catch(() => this.redis.destroy());
  }

  destroy(): void {
    clearInterval(this.reauthTimer);
    this.closed = true;
    this.redis.destroy();
  }

  get = (key: string) => this.redis.get(key);
  set = (key: string, value: string, options?: { EX?: number; NX?: boolean }) => this.redis.set(key, value, options);
  expire = (key: string, seconds: number) => this.redis.expire(key, seconds);
  hGet = (key: string, field: string) => this.redis.hGet(key, field);
  hGetAll = (key: string) => this.redis.hGetAll(key);
  hSet = (key: string, field: string, value: string) => this.redis.hSet(key, field, value);
  hDel = (key: string, field: string) => this.redis.hDel(key, field);
  sMembers = (key: string) => this.redis.sMembers(key);
  eval = (script: string, key: string, args: string[]) => this.redis.eval(script, { keys: [key], arguments: args });

  async del(keys: string | string[]): Promise<number> {
    const counts = await Promise.all((Array.isArray(keys) ? keys : [keys]).map((key) => this.redis.del(key)));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async ping(): Promise<string> {
    if (this.mode === 'single') return this.redis.ping();
    const masters = this.redis.masters;
    if (masters.length === 0) throw new Error('cluster topology unknown');
    await Promise.all(masters.map(async (master) => (await this.redis.nodeClient(master)).ping()));
    return 'PONG';
  }

  publish(channel: string, message: string): Promise<number> {
    return this.mode === 'cluster' ? this.redis.sPublish(channel, message) : this.redis.publish(channel, message);
  }

  transaction(key: string): RedisTransaction {
    return new Transaction(this.mode === 'cluster' ? this.redis.multi(key) : this.redis.multi(), key);
  }

  /** SUBSCRIBE (single) or SSUBSCRIBE on the shard owning the channel (cluster); re-made by node-redis after reconnects and slot moves. */
  subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.mode === 'cluster' ? this.redis.sSubscribe(channel, listener) : this.redis.subscribe(channel, listener);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.mode === 'cluster' ? this.redis.sUnsubscribe(channel) : this.redis.unsubscribe(channel);
  }

  /** Channels with a listener now (node-redis drops a listener whose subscribe failed). */
  subscribedChannels(): Set<string> {
    if (this.mode === 'single') return new Set(this.redis.getPubSubListeners('CHANNELS').keys());
    const channels = new Set<string>();
    for (const master of this.redis.isReady ? this.redis.masters : []) {
      for (const channel of master.pubSub?.client.getPubSubListeners('SHARDED').keys() ?? []) channels.add(channel);
    }
    return channels;
  }
}

export function createRedisConnection(settings: RedisSettings): RedisConnection {
  return new RedisConnection(settings);
}
