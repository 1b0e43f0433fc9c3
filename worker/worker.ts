import { SQSClient } from '@aws-sdk/client-sqs';
import { Server } from 'node:http';
import { DataSource } from 'typeorm';
import { createSqsClient } from '../common/aws/sqs-client';
import { buildDataSourceOptions } from '../common/config/database-options';
import { ResolvedSecrets, resolveSecrets, SecretReader } from '../common/config/secrets';
import { redisSettings } from '../common/redis/client';
import { createRedisConnection, RedisConnection } from '../common/redis/connection';
import { WorkerSettings } from './config/worker-environment';
import { Fanout } from './messages/fanout';
import { MessageBatchHandler } from './messages/message-batch-handler';
import { MessageStore } from './messages/message-store';
import { DeviceMessageDelivery } from './mailbox/device-message-delivery';
import { DeviceMessageStore } from './mailbox/device-message-store';
import { MailboxExpiry } from './mailbox/mailbox-expiry';
import { LogPushProvider } from './notifications/log-push-provider';
import { NotificationBatchHandler } from './notifications/notification-batch-handler';
import { PushProvider } from './notifications/push-provider';
import { PushTargets } from './notifications/push-targets';
import { WebhookPushProvider } from './notifications/webhook-push-provider';
import { WorkerLogger } from './observability/logger';
import { startMetricsServer, WorkerMetrics } from './observability/metrics';
import { ConsumerPool } from './queue/consumer-pool';
import { DependencyGate } from './queue/dependency-gate';
import { DeadLetterSender } from './queue/dead-letter';
import { readRedrive } from './queue/redrive';

export interface Worker {
  readonly metrics: WorkerMetrics;
  /** False while the message consumers are paused waiting for the primary. */
  readonly ready: boolean;
  /** Port of the metrics endpoint, when enabled. */
  readonly metricsPort?: number;
  start(): void;
  /** Graceful and bounded (WORKER_SHUTDOWN_TIMEOUT_MS), then closes every connection. */
  stop(): Promise<void>;
}

export interface WorkerDependencies {
  secretReader?: SecretReader;
  pushProvider?: PushProvider;
  metrics?: WorkerMetrics;
}

export function createPushProvider(
  env: WorkerSettings,
  logger: WorkerLogger,
  secrets: Pick<ResolvedSecrets, 'pushWebhookSecret'> = {},
): PushProvider {
  if (env.PUSH_PROVIDER === 'webhook') {
    if (!secrets.pushWebhookSecret) throw new Error('PUSH_PROVIDER=webhook needs the signing secret');
    return new WebhookPushProvider({
      url: env.PUSH_WEBHOOK_URL as string,
      secret: secrets.pushWebhookSecret,
      timeoutMs: env.PUSH_WEBHOOK_TIMEOUT_MS,
      attempts: env.PUSH_WEBHOOK_ATTEMPTS,
    });
  }
  return new LogPushProvider(logger);
}

/**
 * Redis is best effort for the worker: start without it, reconnect in the background, never crash on it.
 * Single node or cluster per REDIS_CLUSTER (common/redis/client.ts); fan-out is the same code either way.
 */
async function connectRedis(
  env: WorkerSettings,
  secrets: Awaited<ReturnType<typeof resolveSecrets>>,
  logger: WorkerLogger,
): Promise<RedisConnection> {
  const redis = createRedisConnection(redisSettings(env, secrets, 'cyphr-worker'));
  let lastLogged = 0;
  redis.onError((error: unknown) => {
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    logger.warn({ err: error }, 'redis error; realtime publish degraded, presence assumed offline');
  });
  const connected = redis.connect().then(() => true);
  connected.catch(() => undefined);
  const ready = await Promise.race([
    connected,
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 3_000).unref()),
  ]);
  if (!ready) logger.warn('redis not reachable at start-up; consuming anyway');
  return redis;
}

/**
 * The primary answers and takes writes: a node still in recovery (a standby, or a demoted primary after a
 * failover) answers SELECT but would fail every insert, and resuming against it would only pause again.
 */
async function probePrimary(dataSource: DataSource): Promise<void> {
  const [row] = (await dataSource.query('SELECT pg_is_in_recovery() AS standby')) as Array<{ standby: boolean }>;
  if (row?.standby) throw new Error('the database host is a standby (in recovery), not a writable primary');
}

/** Wires the worker from a validated environment. Nothing is received until start(). */
export async function createWorker(
  env: WorkerSettings,
  logger: WorkerLogger,
  deps: WorkerDependencies = {},
): Promise<Worker> {
  // The worker never touches JWTs: do not fetch that secret (its role need not be allowed to).
  const secrets = await resolveSecrets({ ...env, JWT_SECRET: undefined, JWT_SECRET_ARN: undefined }, deps.secretReader);
  const metrics = deps.metrics ?? new WorkerMetrics();
  const sqs: SQSClient = createSqsClient(env);
  const [messagesRedrive, notificationsRedrive] = await Promise.all([
    readRedrive(sqs, env.SQS_MESSAGES_QUEUE_URL),
    readRedrive(sqs, env.SQS_NOTIFICATIONS_QUEUE_URL),
  ]);
  for (const redrive of [messagesRedrive, notificationsRedrive]) {
    if (!redrive.deadLetterQueueUrl)
      logger.warn({ queue: redrive.queueUrl }, 'queue has no redrive policy: failing messages are retried forever');
  }

  // Writes only: the primary, no replicas.
  const dataSource = new DataSource(
    buildDataSourceOptions({ ...env, DATABASE_REPLICA_URLS: undefined, DATABASE_REPLICA_HOSTS: undefined }, secrets, {
      poolSize: env.WORKER_DB_POOL_SIZE,
      applicationName: 'cyphr-worker',
    }),
  );
  await dataSource.initialize();
  const redis = await connectRedis(env, secrets, logger);
  const pushTargets = new PushTargets(dataSource);

  const common = {
    sqs,
    waitTimeSeconds: env.WORKER_WAIT_TIME_SECONDS,
    visibilityTimeoutSeconds: env.WORKER_VISIBILITY_TIMEOUT_SECONDS,
    receiveGatherMs: env.WORKER_RECEIVE_GATHER_MS,
    logger,
    metrics,
  };
  const retry = {
    retryBaseSeconds: env.WORKER_RETRY_BASE_SECONDS,
    visibilityTimeoutSeconds: env.WORKER_VISIBILITY_TIMEOUT_SECONDS,
  };
  const messageHandler = new MessageBatchHandler({
    store: new MessageStore(dataSource),
    fanout: new Fanout(redis, pushTargets, sqs, env.SQS_NOTIFICATIONS_QUEUE_URL, metrics, logger),
    deviceMessages: new DeviceMessageDelivery(
      new DeviceMessageStore(dataSource, env.MAILBOX_RETENTION_DAYS),
      redis,
      metrics,
      logger,
    ),
    deadLetters: new DeadLetterSender(sqs, messagesRedrive, logger),
    metrics,
    logger,
    ...retry,
  });
  const notificationHandler = new NotificationBatchHandler({
    provider: deps.pushProvider ?? createPushProvider(env, logger, secrets),
    targets: pushTargets,
    deadLetters: new DeadLetterSender(sqs, notificationsRedrive, logger),
    metrics,
    logger,
    ...retry,
  });
  // Every message needs the primary: while it is unreachable, receiving would only burn receive counts.
  const primary = new DependencyGate({
    dependency: 'primary',
    probe: () => probePrimary(dataSource),
    maxProbeIntervalMs: env.WORKER_PRIMARY_PROBE_MAX_SECONDS * 1000,
    logger,
    metrics,
  });
  const pools = [
    new ConsumerPool({
      ...common,
      name: 'messages',
      queueUrl: env.SQS_MESSAGES_QUEUE_URL,
      loops: env.WORKER_RECEIVE_LOOPS,
      handler: messageHandler.handle,
      gate: primary,
    }),
    new ConsumerPool({
      ...common,
      name: 'notifications',
      queueUrl: env.SQS_NOTIFICATIONS_QUEUE_URL,
      loops: env.WORKER_NOTIFICATION_LOOPS,
      receiveGatherMs: env.WORKER_NOTIFICATION_GATHER_MS,
      handler: notificationHandler.handle,
    }),
  ];

  const mailboxExpiry = new MailboxExpiry(dataSource, {
    intervalMs: env.MAILBOX_PURGE_INTERVAL_SECONDS * 1000,
    metrics,
    logger,
  });

  let metricsServer: Server | undefined;
  let metricsPort: number | undefined;
  if (env.WORKER_METRICS_PORT > 0) {
    ({ server: metricsServer, port: metricsPort } = await startMetricsServer(
      metrics,
      env.WORKER_METRICS_HOST,
      env.WORKER_METRICS_PORT,
      () => (primary.paused ? { ready: false, waitingFor: primary.dependency } : { ready: true }),
    ));
  }

  let stopped: Promise<void> | undefined;
  return {
    metrics,
    metricsPort,
    get ready() {
      return !primary.paused;
    },
    start: () => {
      pools.forEach((pool) => pool.start());
      mailboxExpiry.start();
    },
    stop: () =>
      (stopped ??= (async () => {
        // The pools first (they release what they hold), then the gate's probing.
        const stopping = Promise.all([
          ...pools.map((pool) => pool.stop(env.WORKER_SHUTDOWN_TIMEOUT_MS)),
          mailboxExpiry.stop(env.WORKER_SHUTDOWN_TIMEOUT_MS),
        ]);
        primary.close();
        await stopping;
        await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
        await redis.close();
        await dataSource.destroy();
        sqs.destroy();
      })()),
  };
}
