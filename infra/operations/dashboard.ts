// The CyphrMetrics dashboard body: one row per layer of the topology, in the order traffic flows.
import { DEFAULT_MAILBOX_RETENTION_DAYS } from '../config/environments';
import type { MonitoredStack } from './targets';

type Metric = (string | Record<string, unknown>)[];

interface Widget {
  type: 'metric';
  width: number;
  height: number;
  x: number;
  y: number;
  properties: Record<string, unknown>;
}

const WIDTH = 8;
const HEIGHT = 6;

function graph(
  region: string,
  title: string,
  metrics: Metric[],
  extra: Record<string, unknown> = {},
): Omit<Widget, 'x' | 'y'> {
  return {
    type: 'metric',
    width: WIDTH,
    height: HEIGHT,
    properties: { title, region, view: 'timeSeries', stacked: false, period: 60, metrics, ...extra },
  };
}

/** ElastiCache reports per node; a SEARCH over the replication group id finds every node. */
function cacheSearch(id: string, metric: string, stat: string): Metric[] {
  const expression = `SEARCH('{AWS/ElastiCache,CacheClusterId} MetricName="${metric}" ${id}', '${stat}', 60)`;
  return [[{ expression, label: metric, id: metric.toLowerCase() }]];
}

/**
 * The processes' own metrics (infra/constructs/cloudwatch-agent.ts): one series per scrape job, summed over
 * instances per minute (every instance reports once a minute; counters arrive as per-scrape deltas).
 */
function processWidgets(r: string, namespace: string, retentionDays: number): Omit<Widget, 'x' | 'y'>[] {
  const sum = (job: string, metric: string, label: string): Metric => [
    namespace,
    metric,
    'job',
    job,
    { stat: 'Sum', label },
  ];
  // Every worker measures the same table: the largest report is the value (a sum would count it per instance).
  const gauge = (metric: string, label: string): Metric => [
    namespace,
    metric,
    'job',
    'cyphr-worker',
    { stat: 'Maximum', label },
  ];
  const push = (outcome: string): Metric => [
    namespace,
    'cyphr_worker_push_total',
    'job',
    'cyphr-worker',
    'outcome',
    outcome,
    { stat: 'Sum', label: outcome },
  ];
  return [
    graph(r, 'WebSocket connections (all API instances)', [
      sum('cyphr-api', 'cyphr_websocket_connections', 'open sockets'),
    ]),
    graph(r, 'Realtime events pushed / min', [sum('cyphr-api', 'cyphr_realtime_events_total', 'events')]),
    graph(r, 'Worker messages / min', [
      sum('cyphr-worker', 'cyphr_worker_messages_received_total', 'received'),
      sum('cyphr-worker', 'cyphr_worker_messages_stored_total', 'stored'),
      sum('cyphr-worker', 'cyphr_worker_messages_failed_total', 'failed'),
      sum('cyphr-worker', 'cyphr_worker_messages_dead_lettered_total', 'dead-lettered'),
    ]),
    graph(r, 'Device mailboxes: pending messages (estimate)', [
      gauge('cyphr_worker_mailbox_pending_messages', 'pending'),
    ]),
    graph(
      r,
      'Device mailboxes: oldest undelivered (s)',
      [gauge('cyphr_worker_mailbox_oldest_pending_age_seconds', 'oldest')],
      { annotations: { horizontal: [{ label: 'retention', value: retentionDays * 86_400 }] } },
    ),
    graph(r, 'Pushes / min by outcome', ['delivered', 'dropped', 'token-invalid', 'failed', 'no-token'].map(push)),
  ];
}

export function dashboardWidgets(t: MonitoredStack): Omit<Widget, 'x' | 'y'>[] {
  const r = t.region;
  const lb = ['LoadBalancer', t.alb.arnSuffix];
  const tg = ['TargetGroup', t.alb.targetGroupArnSuffix, ...lb];
  const db = (id: string) => ['DBInstanceIdentifier', id];
  const dbs = [t.database.primaryId, ...t.database.replicaIds];
  return [
    // Load balancer.
    graph(r, 'ALB requests', [['AWS/ApplicationELB', 'RequestCount', ...lb, { stat: 'Sum' }]]),
    graph(
      r,
      'ALB target response time p95 (goal < 100 ms)',
      [['AWS/ApplicationELB', 'TargetResponseTime', ...lb, { stat: 'p95' }]],
      {
        annotations: { horizontal: [{ label: 'p95 goal', value: 0.1 }] },
      },
    ),
    graph(r, 'ALB 5xx', [
      ['AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', ...lb, { stat: 'Sum' }],
      ['AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', ...lb, { stat: 'Sum' }],
    ]),
    graph(r, 'Healthy / unhealthy API hosts', [
      ['AWS/ApplicationELB', 'HealthyHostCount', ...tg, { stat: 'Minimum' }],
      ['AWS/ApplicationELB', 'UnHealthyHostCount', ...tg, { stat: 'Maximum' }],
    ]),
    // Compute.
    graph(
      r,
      'Fleet CPU',
      t.fleets.map((f) => [
        'AWS/EC2',
        'CPUUtilization',
        'AutoScalingGroupName',
        f.groupName,
        { stat: 'Average', label: f.role },
      ]),
      {
        annotations: { horizontal: [{ label: 'high-cpu', value: 80 }] },
      },
    ),
    graph(
      r,
      'Fleet instances in service',
      t.fleets.map((f) => [
        'AWS/AutoScaling',
        'GroupInServiceInstances',
        'AutoScalingGroupName',
        f.groupName,
        { stat: 'Average', label: f.role },
      ]),
    ),
    // Database.
    graph(
      r,
      'RDS CPU',
      dbs.map((id) => ['AWS/RDS', 'CPUUtilization', ...db(id), { stat: 'Average' }]),
    ),
    graph(
      r,
      'RDS connections',
      dbs.map((id) => ['AWS/RDS', 'DatabaseConnections', ...db(id), { stat: 'Maximum' }]),
    ),
    graph(
      r,
      'RDS replica lag (s)',
      t.database.replicaIds.length
        ? t.database.replicaIds.map((id) => ['AWS/RDS', 'ReplicaLag', ...db(id), { stat: 'Maximum' }])
        : [
            [
              'AWS/RDS',
              'ReplicaLag',
              ...db(t.database.primaryId),
              { stat: 'Maximum', label: 'no replicas in this tier' },
            ],
          ],
    ),
    graph(
      r,
      'RDS free storage (bytes)',
      dbs.map((id) => ['AWS/RDS', 'FreeStorageSpace', ...db(id), { stat: 'Minimum' }]),
    ),
    // Cache.
    graph(r, 'Redis engine CPU %', cacheSearch(t.cache.replicationGroupId, 'EngineCPUUtilization', 'Average')),
    graph(
      r,
      'Redis memory used %',
      cacheSearch(t.cache.replicationGroupId, 'DatabaseMemoryUsagePercentage', 'Maximum'),
    ),
    graph(r, 'Redis evictions', cacheSearch(t.cache.replicationGroupId, 'Evictions', 'Sum')),
    // Queues.
    graph(
      r,
      'SQS depth (visible)',
      t.queues.work.map((q) => [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        q.name,
        { stat: 'Maximum', label: q.label },
      ]),
    ),
    graph(
      r,
      'SQS age of oldest message (s)',
      t.queues.work.map((q) => [
        'AWS/SQS',
        'ApproximateAgeOfOldestMessage',
        'QueueName',
        q.name,
        { stat: 'Maximum', label: q.label },
      ]),
    ),
    graph(
      r,
      'Dead-letter queue depth',
      t.queues.deadLetters.map((q) => [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        q.name,
        { stat: 'Maximum', label: `${q.label} dlq` },
      ]),
    ),
    // Processes.
    ...(t.processMetricsNamespace
      ? processWidgets(r, t.processMetricsNamespace, t.mailboxRetentionDays ?? DEFAULT_MAILBOX_RETENTION_DAYS)
      : []),
  ];
}

/** Lays widgets out three to a row and returns the dashboard body object. */
export function dashboardBody(t: MonitoredStack): { widgets: Widget[] } {
  const perRow = 24 / WIDTH;
  return {
    widgets: dashboardWidgets(t).map((w, i) => ({ ...w, x: (i % perRow) * WIDTH, y: Math.floor(i / perRow) * HEIGHT })),
  };
}
