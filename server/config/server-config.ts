import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DataSourceOptions } from 'typeorm';
import { buildDataSourceOptions } from '../../common/config/database-options';
import type { LogLevel } from '../../common/config/environment';
import { ReloadableSecret, ResolvedSecrets } from '../../common/config/secrets';
import { RedisSettings, redisSettings } from '../../common/redis/client';
import { PRESENCE_HEARTBEAT_MS } from '../../common/redis/presence';
import type { ApiSettings } from './api-settings';
import { RateLimitRules, withRateLimitOverrides } from '../rate-limits/rate-limit-rules';

/**
 * The server's typed settings, built once at start-up from the validated environment and the resolved
 * secrets (see createServerApp). Nothing else in server/ reads process.env; everything injects this.
 */
export class ServerConfig {
  port: number;
  /** Interface to bind; loopback in tests. */
  host: string;
  /** SO_REUSEPORT on the listener: several processes of one instance share the port. */
  reusePort: boolean;
  /** Loopback port serving only this process's metrics; 0 for none. */
  metricsPort: number;
  logLevel: LogLevel;
  /** Where logs go instead of stdout (tests that check what is logged). */
  logStream?: NodeJS.WritableStream;
  /** Unique per process: the presence hash field and the log's `instance`. */
  instanceId: string;
  database: DataSourceOptions;
  /** Single node or cluster (REDIS_CLUSTER), URL, auth token. */
  redis: RedisSettings;
  /** Upper bound for one Redis command before the caller falls back to the database. */
  redisCommandTimeoutMs: number;
  sqs: {
    region: string;
    endpoint?: string;
    messagesQueueUrl: string;
    notificationsQueueUrl: string;
    maxBatchDelayMs: number;
  };
  /** The access-token keyring (server/auth/jwt-keyring.ts), how often to re-read it, and token lifetime. */
  jwt: {
    source: ReloadableSecret;
    refreshSeconds: number;
    /** Access tokens: short, a device renews them with its refresh token. */
    ttlSeconds: number;
    /** A device's refresh token lives this long after its last use (sliding). */
    refreshTokenTtlSeconds: number;
  };
  /** Largest accepted JSON body; a 64 KiB ciphertext is ~87 KiB of base64. */
  bodyLimitBytes: number;
  /** Largest body of POST /v1/devices/messages (up to 1,000 mailbox items): see DEVICE_MESSAGES_BODY_LIMIT_BYTES. */
  deviceMessagesBodyLimitBytes: number;
  /** `delivered` events (server/mailbox/delivery-receipts.ts): on or off, and how long one batch gathers. */
  deliveryReceipts: { enabled: boolean; windowMs: number };
  /** SIGTERM → exit within this long, whatever is still in flight. */
  shutdownTimeoutMs: number;
  /** After SIGTERM, keep serving (with /health failing) this long before closing the listener: see GracefulDrain. */
  drainLameDuckMs: number;
  rateLimits: RateLimitRules;
  realtime: RealtimeLimits;
  /** `trust proxy` (Fastify's option): which hops' X-Forwarded-For to believe for the client address (rate limits, logs). */
  trustProxy: boolean | number | string;
}

/** Bounds on the WebSocket endpoint (server/realtime/realtime.gateway.ts); README, "WebSocket protocol". */
export interface RealtimeLimits {
  /** Open sockets of one user on one instance; one more is refused with 429. */
  maxSocketsPerUser: number;
  /** Open sockets on one instance; one more is refused with 503 (the client retries, likely elsewhere). */
  maxSocketsPerProcess: number;
  /** A socket whose unsent bytes would pass this is cut (a client that does not read must not grow the heap). */
  maxBufferedBytes: number;
  /** Ping interval; a socket that has not answered the previous ping with a pong is dropped. */
  heartbeatMs: number;
}

export const DEFAULT_REALTIME_LIMITS: RealtimeLimits = {
  maxSocketsPerUser: 10,
  maxSocketsPerProcess: 20_000,
  maxBufferedBytes: 1024 * 1024,
  heartbeatMs: PRESENCE_HEARTBEAT_MS,
};

/** REALTIME_LIMITS, `name=value,...` (positive integers; unnamed limits keep their defaults). */
export function withRealtimeLimitOverrides(spec: string | undefined): RealtimeLimits {
  const limits = { ...DEFAULT_REALTIME_LIMITS };
  const problems: string[] = [];
  for (const entry of (spec ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z]+)=(\d+)$/.exec(entry);
    if (!match || !(match[1] in limits)) {
      problems.push(`"${entry}" is not name=value with name one of ${Object.keys(limits).join(', ')}`);
    } else if (Number(match[2]) < 1) {
      problems.push(`"${entry}" needs a value of at least 1`);
    } else {
      limits[match[1] as keyof RealtimeLimits] = Number(match[2]);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid environment:\n  - REALTIME_LIMITS: ${problems.join('; ')}`);
  return limits;
}

/** What tests (or a second local instance) may change without touching the environment. */
export interface ServerConfigOverrides extends Partial<Omit<ServerConfig, 'database' | 'sqs' | 'jwt' | 'realtime'>> {
  /** Lifetime of access tokens (tests of expiry); 3600 s otherwise. */
  accessTokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  realtime?: Partial<RealtimeLimits>;
  /** Shown in pg_stat_activity; tests use a unique one to see which server ran which query. */
  applicationName?: string;
  poolSize?: number;
  maxBatchDelayMs?: number;
}

/**
 * 4 MiB for one device-messages request. The common case is a sender key for every device of a conversation:
 * about 1,000 items of under 1 KiB of base64 each (~1.2 MiB of JSON), which fits with room to spare; the largest
 * items (64 KiB) fit about 45 to a request, and a client sends more in several. The bound caps what one request
 * holds in memory while parsed and validated (a few times its size) and how much it puts on the queue (16 full
 * SQS batches at most), so a handful of concurrent senders cannot exhaust an instance.
 */
export const DEVICE_MESSAGES_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** Receipts gathered this long go out in one pipelined round: a busy instance publishes a few times a second. */
export const DELIVERY_RECEIPT_WINDOW_MS = 250;

/** 15 minutes: a stolen access token is good for little, and a removed device's last token dies soon after. */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
/** 60 days, sliding: a device unused for two months logs in again. */
export const REFRESH_TOKEN_TTL_SECONDS = 60 * 24 * 3600;

export function buildServerConfig(
  env: ApiSettings,
  secrets: ResolvedSecrets,
  overrides: ServerConfigOverrides = {},
): ServerConfig {
  if (!secrets.jwtKeys) throw new Error('JWT secret is not set (JWT_SECRET or JWT_SECRET_ARN)');
  const instanceId = overrides.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const {
    applicationName,
    poolSize,
    maxBatchDelayMs,
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds,
    realtime,
    ...rest
  } = overrides;
  return {
    port: env.PORT,
    host: '0.0.0.0',
    reusePort: env.REUSE_PORT === 'true',
    metricsPort: env.METRICS_PORT,
    logLevel: env.LOG_LEVEL,
    instanceId,
    database: buildDataSourceOptions(env, secrets, {
      applicationName: applicationName ?? 'cyphr-server',
      poolSize: poolSize ?? 10,
    }),
    // RedisService.run gives every command its deadline (redisCommandTimeoutMs).
    redis: { ...redisSettings(env, secrets, `cyphr-server-${instanceId}`), callerDeadlines: true },
    redisCommandTimeoutMs: 500,
    sqs: {
      region: env.AWS_REGION,
      endpoint: env.SQS_ENDPOINT,
      messagesQueueUrl: env.SQS_MESSAGES_QUEUE_URL,
      notificationsQueueUrl: env.SQS_NOTIFICATIONS_QUEUE_URL,
      maxBatchDelayMs: maxBatchDelayMs ?? 5,
    },
    jwt: {
      source: secrets.jwtKeys,
      refreshSeconds: env.JWT_KEYS_REFRESH_SECONDS,
      ttlSeconds: accessTokenTtlSeconds ?? ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: refreshTokenTtlSeconds ?? REFRESH_TOKEN_TTL_SECONDS,
    },
    bodyLimitBytes: 128 * 1024,
    deviceMessagesBodyLimitBytes: DEVICE_MESSAGES_BODY_LIMIT_BYTES,
    deliveryReceipts: { enabled: env.DELIVERY_RECEIPTS !== 'off', windowMs: DELIVERY_RECEIPT_WINDOW_MS },
    shutdownTimeoutMs: 10_000,
    drainLameDuckMs: 2_000,
    rateLimits: withRateLimitOverrides(env.RATE_LIMITS),
    realtime: { ...withRealtimeLimitOverrides(env.REALTIME_LIMITS), ...realtime },
    // The ALB (and loopback in tests) sit in private address space; a client cannot spoof past them.
    // Behind CloudFront the stack sets TRUST_PROXY=2 (CloudFront's hop is public).
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    ...rest,
  };
}

/** TRUST_PROXY in `trust proxy` terms: a hop count stays a number, anything else a list of ranges. */
export function parseTrustProxy(value: string | undefined): number | string {
  if (!value) return 'loopback, linklocal, uniquelocal';
  return /^\d+$/.test(value) ? Number(value) : value;
}
