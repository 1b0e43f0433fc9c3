import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric the worker exports, on its own registry (tests create as many as they like). */
export class WorkerMetrics {
  readonly registry = new Registry();

  readonly received = new Counter({
    name: 'cyphr_worker_messages_received_total',
    help: 'Messages received from SQS',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  readonly stored = new Counter({
    name: 'cyphr_worker_messages_stored_total',
    help: 'Messages inserted into PostgreSQL (first delivery)',
    registers: [this.registry],
  });

  readonly duplicates = new Counter({
    name: 'cyphr_worker_messages_duplicate_total',
    help: 'Deliveries of messages already stored (redelivery or duplicate send); skipped, fanned out again',
    registers: [this.registry],
  });

  readonly failed = new Counter({
    name: 'cyphr_worker_messages_failed_total',
    help: 'Messages left on the queue for a retry, by reason ("blocked": behind a failed message of the same conversation)',
    labelNames: ['queue', 'reason'],
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'cyphr_worker_messages_dead_lettered_total',
    help: 'Messages sent to the DLQ: "rejected" (malformed, moved directly) or "exhausted" (failed on their last allowed receive: moved by the worker when it could store them, else by the redrive policy)',
    labelNames: ['queue', 'kind'],
    registers: [this.registry],
  });

  readonly published = new Counter({
    name: 'cyphr_worker_realtime_published_total',
    help: 'Realtime events published to Redis, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  readonly notificationsQueued = new Counter({
    name: 'cyphr_worker_notifications_queued_total',
    help: 'Notifications queued for offline members',
    registers: [this.registry],
  });

  readonly pushes = new Counter({
    name: 'cyphr_worker_push_total',
    help: 'Push deliveries, by provider and outcome',
    labelNames: ['provider', 'outcome'],
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: 'cyphr_worker_batch_duration_seconds',
    help: 'Time to handle one received batch (store, fan out, notify)',
    labelNames: ['queue'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly messageAge = new Histogram({
    name: 'cyphr_worker_message_age_seconds',
    help: 'Age of a message when stored: now - SentTimestamp (time spent queued)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });

  readonly consumersPaused = new Gauge({
    name: 'cyphr_worker_consumers_paused',
    help: '1 while the consumers wait for an unreachable dependency (the primary) and receive nothing, else 0',
    labelNames: ['dependency'],
    registers: [this.registry],
  });

  readonly pauses = new Counter({
    name: 'cyphr_worker_consumer_pauses_total',
    help: 'Times the consumers paused because a dependency became unreachable',
    labelNames: ['dependency'],
    registers: [this.registry],
  });

  readonly held = new Counter({
    name: 'cyphr_worker_messages_held_total',
    help: 'Messages whose storing failed on an unreachable dependency and were held (not retried) until it answered',
    labelNames: ['queue'],
    registers: [this.registry],
  });

  readonly deviceMessages = new Counter({
    name: 'cyphr_worker_device_messages_total',
    help: 'Device-to-device messages handled, by outcome: "stored" (new in a mailbox), "duplicate" (a redelivery, pushed again), "dropped" (the recipient device is gone: it can never be delivered)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  readonly mailboxPending = new Gauge({
    name: 'cyphr_worker_mailbox_pending_messages',
    help: 'Device messages stored and not yet acknowledged or expired: the statistics collector’s live-row estimate (n_live_tup), measured by the expiry pass',
    registers: [this.registry],
  });

  readonly mailboxOldestAge = new Gauge({
    name: 'cyphr_worker_mailbox_oldest_pending_age_seconds',
    help: 'Age of the oldest pending device message (now - stored_at), 0 when none; measured by the expiry pass',
    registers: [this.registry],
  });

  readonly mailboxPurged = new Counter({
    name: 'cyphr_worker_mailbox_purged_total',
    help: 'Expired device messages deleted by the expiry pass (unacknowledged for MAILBOX_RETENTION_DAYS)',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'cyphr_worker_' });
  }
}

export type Readiness = () => { ready: true } | { ready: false; waitingFor: string };

/**
 * GET /metrics (Prometheus text), GET /health (the process is alive) and GET /ready (503 while the consumers
 * are paused, naming what they wait for); anything else 404.
 */
export async function startMetricsServer(
  metrics: WorkerMetrics,
  host: string,
  port: number,
  readiness: Readiness = () => ({ ready: true }),
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        })
        .catch((error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        });
      return;
    }
    if (req.method === 'GET' && req.url === '/ready') {
      const state = readiness();
      res.writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.ready ? { status: 'ready' } : { status: 'paused', waitingFor: state.waitingFor }));
      return;
    }
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
