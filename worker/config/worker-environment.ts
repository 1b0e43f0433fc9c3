import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { SharedSettings } from '../../common/config/environment';
import { WORKER_VISIBILITY_TIMEOUT_SECONDS } from '../../common/operations/timeouts';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

export const PUSH_PROVIDERS = ['log', 'webhook'] as const;
/** https anywhere; plain http only to this machine (a local gateway), never across a network. */
const HTTPS_OR_LOOPBACK = /^(https:\/\/|http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$))/i;
export type PushProviderName = (typeof PUSH_PROVIDERS)[number];

/**
 * The shared settings plus the worker's own. Validated once at start-up (validateEnvironment collects
 * every problem before failing), then passed down as a typed object; nothing else reads process.env.
 * The worker signs no tokens, so it has no JWT settings. Its env file also carries what the migration
 * needs (MigrateSettings), since the migration runs on worker instances; the worker ignores those.
 */
export class WorkerSettings extends SharedSettings {
  /** Parallel long-poll receive loops per queue; each receives up to 10 messages per call. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  WORKER_RECEIVE_LOOPS: number = 8;

  /**
   * After a receive that came back at most half full (5 of 10), the next receive waits this long so a few
   * gather and share one receive, one insert and one delete (worker/queue/receive-pacer.ts). Adds at most this
   * much to a message's latency, and only when the queue is not busy; 0 receives again at once.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  WORKER_RECEIVE_GATHER_MS: number = 20;

  /**
   * The same wait for the notifications queue, longer: a notification only wakes a device through a push gateway
   * whose own delivery takes hundreds of milliseconds, so waiting to fill a batch costs the user nothing noticeable
   * while one receive, one registrations query and one delete serve up to 10 pushes.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  WORKER_NOTIFICATION_GATHER_MS: number = 100;

  /** Receive loops for the notifications queue (lighter traffic). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  WORKER_NOTIFICATION_LOOPS: number = 2;

  /** Long-poll wait per ReceiveMessage call, seconds (SQS maximum 20). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(20)
  WORKER_WAIT_TIME_SECONDS: number = 20;

  /**
   * Visibility timeout set on receive and renewed by a heartbeat every third of it while a batch is
   * being worked on; a crashed worker's messages reappear after at most this long.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(3)
  @Max(43200)
  WORKER_VISIBILITY_TIMEOUT_SECONDS: number = WORKER_VISIBILITY_TIMEOUT_SECONDS;

  /** A message that failed for a reason of its own (constraint violation...) is retried after base × 2^(receives-1) seconds. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(900)
  WORKER_RETRY_BASE_SECONDS: number = 2;

  /** SIGTERM: how long in-flight batches may take to finish before they are released back to the queue. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  WORKER_SHUTDOWN_TIMEOUT_MS: number = 20_000;

  /**
   * While the primary is unreachable the message consumers pause; they probe it (`SELECT 1`) after 1 s, 2 s,
   * 4 s ... up to this many seconds apart, and resume when it answers.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(300)
  WORKER_PRIMARY_PROBE_MAX_SECONDS: number = 10;

  /** PostgreSQL connections held by the worker (the primary only). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  WORKER_DB_POOL_SIZE: number = 10;

  /** Prometheus scrape endpoint for the CloudWatch agent; 0 disables it. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_METRICS_PORT: number = 9464;

  /** Loopback by default: only the agent on the same instance scrapes it. */
  @IsOptional()
  @IsString()
  WORKER_METRICS_HOST: string = '127.0.0.1';

  /** Where notifications go: `log` (local runs) or `webhook` (PUSH_WEBHOOK_URL). */
  @IsOptional()
  @IsIn(PUSH_PROVIDERS as unknown as string[])
  PUSH_PROVIDER: PushProviderName = 'log';

  /** The push gateway (relays to APNs/FCM): https, or plain http to a loopback address for local runs. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: WorkerSettings) => env.PUSH_PROVIDER === 'webhook')
  @IsNotEmpty({ message: 'PUSH_WEBHOOK_URL is required when PUSH_PROVIDER=webhook' })
  @IsUrl(
    { protocols: ['http', 'https'], require_tld: false, require_protocol: true },
    { message: 'PUSH_WEBHOOK_URL must be an http(s) URL' },
  )
  @Matches(HTTPS_OR_LOOPBACK, {
    message: 'PUSH_WEBHOOK_URL must be https (plain http only to localhost, 127.0.0.1 or [::1])',
  })
  PUSH_WEBHOOK_URL?: string;

  /**
   * Local runs: the HMAC-SHA256 key that signs each webhook request (worker/notifications/webhook-signature.ts),
   * at least 32 characters. On AWS use PUSH_WEBHOOK_SECRET_ARN: a key never sits in the user data.
   */
  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: WorkerSettings) =>
      (env.PUSH_PROVIDER === 'webhook' && !env.PUSH_WEBHOOK_SECRET_ARN) || env.PUSH_WEBHOOK_SECRET !== undefined,
  )
  @IsNotEmpty({
    message: 'PUSH_WEBHOOK_SECRET_ARN (or PUSH_WEBHOOK_SECRET locally) is required when PUSH_PROVIDER=webhook',
  })
  @IsString()
  @MinLength(32, { message: 'PUSH_WEBHOOK_SECRET must be at least 32 characters' })
  PUSH_WEBHOOK_SECRET?: string;

  /** On AWS: the Secrets Manager secret holding the webhook signing key, read once at start-up. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, {
    message: 'PUSH_WEBHOOK_SECRET_ARN must be a Secrets Manager secret ARN',
  })
  PUSH_WEBHOOK_SECRET_ARN?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  PUSH_WEBHOOK_TIMEOUT_MS: number = 5_000;

  /** Attempts per notification within one delivery (then the queue's own retry and DLQ take over). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10)
  PUSH_WEBHOOK_ATTEMPTS: number = 3;

  /**
   * Unacknowledged device-to-device messages are deleted this many days after they were sent: a device that
   * stays offline longer catches up by asking its peers for fresh keys, not from its mailbox.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(365)
  MAILBOX_RETENTION_DAYS: number = 30;

  /** How often the expiry pass runs (and measures the mailbox gauges). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  MAILBOX_PURGE_INTERVAL_SECONDS: number = 300;
}
