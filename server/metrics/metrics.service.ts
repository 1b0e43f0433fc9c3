import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type CacheName = 'token' | 'user' | 'members';
export type CacheResult = 'hit' | 'miss' | 'error';

/**
 * Every metric the API exports at GET /metrics. One registry per application (not prom-client's global
 * one), so two instances can live in one test process.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'cyphr_http_requests_total',
    help: 'HTTP requests by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'cyphr_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly websocketConnections = new Gauge({
    name: 'cyphr_websocket_connections',
    help: 'Open WebSocket connections on this instance',
    registers: [this.registry],
  });

  readonly websocketRefusals = new Counter({
    name: 'cyphr_websocket_refusals_total',
    help: 'WebSocket upgrades refused, by reason (unauthenticated, token-in-url, rate-limited, user-cap, process-cap, ...)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly websocketClosures = new Counter({
    name: 'cyphr_websocket_closures_total',
    help: 'Sockets the server closed, by reason (session-revoked, token-expired, slow-consumer, no-pong, restarting)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly queueSendDuration = new Histogram({
    name: 'cyphr_queue_send_duration_seconds',
    help: 'SQS SendMessageBatch latency by queue and outcome',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly queueBatchSize = new Histogram({
    name: 'cyphr_queue_batch_size',
    help: 'Messages per SQS SendMessageBatch call',
    labelNames: ['queue'] as const,
    buckets: [1, 2, 3, 5, 8, 10],
    registers: [this.registry],
  });

  readonly cacheRequests = new Counter({
    name: 'cyphr_cache_requests_total',
    help: 'Redis cache lookups by cache and result (hit, miss, error = Redis unavailable, served from the database)',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });

  readonly realtimeEvents = new Counter({
    name: 'cyphr_realtime_events_total',
    help: 'Realtime events pushed to local WebSocket clients, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly deliveryReceipts = new Counter({
    name: 'cyphr_delivery_receipts_total',
    help: 'Delivery receipts by outcome: published (to the sender), dropped (too many waiting: Redis or the database slow), failed (the lookup or publish failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'cyphr_' });
  }

  cache(cache: CacheName, result: CacheResult): void {
    this.cacheRequests.inc({ cache, result });
  }
}
