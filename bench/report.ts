import type { DemandAssumptions, MeasuredFigures, TierCapacity } from './capacity';
import type { LatencySummary } from './lib/stats';
import { ratio } from './lib/stats';
import type { ConnectionsResult } from './phases/connections';
import type { DrainResult } from './phases/drain';
import type { EndToEndRun } from './phases/end-to-end';
import type { HistoryResult } from './phases/history';
import type { LimitsResult } from './phases/limits';
import type { SendPathResult } from './phases/send-path';

/** The bench report: measured sections, ratios to their limits, targets, and the capacity model. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  commit: string;
  loadBefore: number[];
  loadAfter: number[];
}

export interface Measurements {
  limits: LimitsResult;
  sendPath: SendPathResult;
  endToEnd: EndToEndRun[];
  connections: ConnectionsResult;
  drain: DrainResult;
  history: HistoryResult;
}

export interface RatioRow {
  figure: string;
  measured: number;
  limit: string;
  limitValue: number;
  ratio: number;
}

export interface TargetRow {
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  mode: string;
  seconds: number;
  machine: MachineInfo;
  measurements: Measurements;
  ratios: RatioRow[];
  targets: TargetRow[];
  figures: MeasuredFigures;
  assumptions: DemandAssumptions;
  capacity: TierCapacity[];
}

export const REPORT_SECTIONS = ['limits', 'sendPath', 'endToEnd', 'connections', 'drain', 'history'] as const;

export function ratiosOf(m: Measurements): RatioRow[] {
  const e2eTop = m.endToEnd[m.endToEnd.length - 1];
  return [
    {
      figure: 'send path at saturation (accepted/s)',
      measured: m.sendPath.saturation.okPerSecond,
      limit: 'SQS raw send (batches of 10)',
      limitValue: m.limits.sqsSend.messagesPerSecond,
    },
    {
      figure: 'worker drain (stored/s)',
      measured: m.drain.messagesPerSecond,
      limit: 'SQS raw receive + delete',
      limitValue: m.limits.sqsReceiveDelete.messagesPerSecond,
    },
    {
      figure: 'worker drain (stored/s)',
      measured: m.drain.messagesPerSecond,
      limit: 'PostgreSQL 10-row inserts (rows/s)',
      limitValue: m.limits.postgresInsert.rowsPerSecond,
    },
    {
      figure: `end to end delivered/s at ${e2eTop?.rate}/s offered`,
      measured: e2eTop ? Math.round(e2eTop.delivered / e2eTop.seconds) : NaN,
      limit: 'Redis pub/sub deliveries/s',
      limitValue: m.limits.redisPubSub.messagesPerSecond,
    },
    {
      figure: 'history pages/s at saturation',
      measured: m.history.saturation.okPerSecond,
      limit: 'PostgreSQL 10-row inserts (rows/s), for scale',
      limitValue: m.limits.postgresInsert.rowsPerSecond,
    },
  ].map((row) => ({ ...row, ratio: ratio(row.measured, row.limitValue) }));
}

const GiB = 1024 * 1024 * 1024;

export function targetsOf(m: Measurements): TargetRow[] {
  const at1000 = m.endToEnd.find((run) => run.rate === 1000) ?? m.endToEnd[m.endToEnd.length - 1];
  const send = ratio(m.sendPath.saturation.okPerSecond, m.limits.sqsSend.messagesPerSecond);
  const drain = ratio(m.drain.messagesPerSecond, m.limits.sqsReceiveDelete.messagesPerSecond);
  const projected = (m.connections.rssBeforeMiB * 1024 * 1024 + 10_000 * m.connections.bytesPerConnection) / GiB;
  return [
    {
      target: `end-to-end p95 < 100 ms at ${at1000?.rate ?? '?'} msg/s`,
      measured: `p95 ${at1000?.latencyMs.p95} ms, ${at1000?.delivered}/${at1000?.accepted} delivered`,
      met: !!at1000 && at1000.latencyMs.p95 < 100 && at1000.delivered >= at1000.accepted,
    },
    {
      target: 'send path >= 80 % of the SQS server raw send rate',
      measured: `${m.sendPath.saturation.okPerSecond}/s = ${Math.round(send * 100)} % of ${m.limits.sqsSend.messagesPerSecond}/s`,
      met: send >= 0.8,
    },
    {
      target: 'worker drain >= 80 % of raw receive + delete',
      measured: `${m.drain.messagesPerSecond}/s = ${Math.round(drain * 100)} % of ${m.limits.sqsReceiveDelete.messagesPerSecond}/s`,
      met: drain >= 0.8,
    },
    {
      target: '10,000 connections per API process under 1 GiB',
      measured: `${m.connections.openAfterHold} held, ${m.connections.rssAfterMiB} MiB (10,000 → ${projected.toFixed(2)} GiB)`,
      met: m.connections.openAfterHold >= Math.min(10_000, m.connections.target) && projected < 1,
    },
  ];
}

/** Per-process CPU costs the capacity model scales, from the measurements. */
export function figuresOf(m: Measurements): MeasuredFigures {
  const top = m.endToEnd[m.endToEnd.length - 1];
  const perMessage = (cores: number | undefined) =>
    ((cores ?? 0) * 1000) / Math.max(1, top ? top.delivered / top.seconds : 1);
  return {
    apiCpuMsPerMessage: Number(Math.max(perMessage(top?.cpuCoresBusy.api), m.sendPath.apiCpuMsPerMessage).toFixed(3)),
    apiCpuMsPerRead: m.history.apiCpuMsPerRead,
    workerCpuMsPerMessage: Number(
      Math.max(perMessage(top?.cpuCoresBusy.worker), m.drain.workerCpuMsPerMessage).toFixed(3),
    ),
    connectionsHeld: m.connections.openAfterHold,
    bytesPerConnection: m.connections.bytesPerConnection,
    apiCoresPer1000Connections: Number(
      ((m.connections.apiCoresWhileHolding * 1000) / Math.max(1, m.connections.openAfterHold)).toFixed(4),
    ),
    apiBaseRssMiB: m.connections.rssBeforeMiB,
  };
}

const ms = (s: LatencySummary) => `${s.p50} / ${s.p95} / ${s.p99}`;
const cores = (busy: Record<string, number>) =>
  Object.entries(busy)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
const table = (header: string[], rows: Array<Array<string | number>>) =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

export function renderMarkdown(r: BenchReport): string {
  const m = r.measurements;
  const lines: string[] = [];
  const push = (...text: string[]) => lines.push(...text, '');
  push(
    `# Cyphr benchmark report (${r.mode})`,
    `${r.startedAt} → ${r.finishedAt} (${Math.round(r.seconds)} s), commit ${r.machine.commit}. ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}. ` +
      `Everything on one machine over loopback: PostgreSQL primary + replica, Redis, the SQS server (fauxqs), one API process, one worker process, the load generator. ` +
      `Load average (1/5/15 min) before ${r.machine.loadBefore.join(' / ')}, after ${r.machine.loadAfter.join(' / ')}.`,
  );
  push(
    '## Targets',
    table(
      ['target', 'measured', 'met'],
      r.targets.map((t) => [t.target, t.measured, t.met ? 'yes' : '**no**']),
    ),
  );
  push(
    '## Limits and ratios',
    table(
      ['limit (measured in this run)', 'rate'],
      [
        [
          `SQS server: SendMessageBatch ×10, ${m.limits.sqsSend.parallel} in parallel`,
          `${m.limits.sqsSend.messagesPerSecond} msg/s`,
        ],
        [
          `SQS server: receive + delete, ${m.limits.sqsReceiveDelete.loops} loops`,
          `${m.limits.sqsReceiveDelete.messagesPerSecond} msg/s`,
        ],
        [
          `PostgreSQL: the worker's 10-row insert, ${m.limits.postgresInsert.parallel} in parallel`,
          `${m.limits.postgresInsert.rowsPerSecond} rows/s (${m.limits.postgresInsert.commitsPerSecond} commits/s)`,
        ],
        [
          `Redis pub/sub: ${m.limits.redisPubSub.channels} channels, one subscriber`,
          `${m.limits.redisPubSub.messagesPerSecond} msg/s`,
        ],
      ],
    ),
    table(
      ['our figure', 'measured', 'limit it sits on', 'limit', 'ratio'],
      r.ratios.map((x) => [x.figure, x.measured, x.limit, x.limitValue, x.ratio]),
    ),
  );
  push(
    '## Send path (POST .../messages → 202, durable in SQS; one API process, no worker)',
    table(
      ['load', 'accepted/s', 'p50 / p95 / p99 ms', 'max ms', 'failed'],
      [
        [
          `fixed ${m.sendPath.fixed.offered}/s (open loop)`,
          m.sendPath.fixed.okPerSecond,
          ms(m.sendPath.fixed.latencyMs),
          m.sendPath.fixed.latencyMs.max,
          m.sendPath.fixed.failed,
        ],
        [
          `saturation, autocannon ${m.sendPath.saturation.connections} connections`,
          m.sendPath.saturation.okPerSecond,
          ms(m.sendPath.saturation.latencyMs),
          m.sendPath.saturation.latencyMs.max,
          m.sendPath.saturation.failed,
        ],
      ],
    ),
    `Cores busy at saturation: ${cores(m.sendPath.cpuCoresBusy)}. API CPU per accepted message: ${m.sendPath.apiCpuMsPerMessage} ms. Queue depth afterwards ${m.sendPath.queued} ≥ ${m.sendPath.accepted} accepted: ${m.sendPath.queued >= m.sendPath.accepted ? 'every 202 was durable' : '**messages missing**'}.`,
  );
  push(
    '## End to end (send → SQS → worker → PostgreSQL → Redis → API → recipient WebSocket)',
    table(
      [
        'offered/s',
        'delivered / accepted',
        'p50 / p95 / p99 ms',
        'max ms',
        'HTTP 202 p50 / p95 / p99',
        'queue + store p50 / p95',
        'fan-out p50 / p95',
        'cores busy',
      ],
      m.endToEnd.map((run) => [
        run.rate,
        `${run.delivered} / ${run.accepted}`,
        ms(run.latencyMs),
        run.latencyMs.max,
        ms(run.acceptLatencyMs),
        `${run.queueAndStoreMs.p50} / ${run.queueAndStoreMs.p95}`,
        `${run.fanOutMs.p50} / ${run.fanOutMs.p95}`,
        cores(run.cpuCoresBusy),
      ]),
    ),
    'Queue + store: API accepted (sentAt) → worker transaction (storedAt); fan-out: storedAt → arrival (ms clock resolution).',
  );
  const c = m.connections;
  push(
    '## Connections (one API process, authenticated WebSockets with heartbeats)',
    table(
      [
        'target',
        'opened (failed)',
        'open time',
        'held through',
        'server count',
        'RSS before → after',
        'per connection',
        'API cores while holding',
      ],
      [
        [
          c.target,
          `${c.opened} (${c.failed})`,
          `${c.openSeconds} s`,
          `${c.openAfterHold} for ${c.heldSeconds} s`,
          c.serverCount,
          `${c.rssBeforeMiB} → ${c.rssAfterMiB} MiB`,
          `${(c.bytesPerConnection / 1024).toFixed(1)} KiB`,
          c.apiCoresWhileHolding,
        ],
      ],
    ),
    `${c.users} users × ${c.perUser} connections each (registering 10,000 users through argon2 would take minutes on 2 cores); every connection authenticates on its own.${c.firstError ? ` First failure: ${c.firstError}.` : ''}`,
  );
  push(
    '## Worker drain (one worker process, 8 receive loops, pre-filled queue)',
    table(
      ['messages', 'seconds', 'stored/s', 'mean batch ms', 'worker CPU ms/message', 'cores busy'],
      [
        [
          m.drain.messages,
          m.drain.seconds,
          m.drain.messagesPerSecond,
          m.drain.meanBatchMs,
          m.drain.workerCpuMsPerMessage,
          cores(m.drain.cpuCoresBusy),
        ],
      ],
    ),
  );
  const h = m.history;
  push(
    `## History (GET .../messages?limit=${h.pageSize}&before=cursor, replica serving; ${h.conversations} conversations × ${h.messagesPerConversation} messages)`,
    table(
      ['load', 'pages/s', 'p50 / p95 / p99 ms', 'max ms', 'failed'],
      [
        [
          `fixed ${h.fixed.offered}/s`,
          h.fixed.okPerSecond,
          ms(h.fixed.latencyMs),
          h.fixed.latencyMs.max,
          h.fixed.failed,
        ],
        [
          `saturation, ${h.saturation.connections} connections`,
          h.saturation.okPerSecond,
          ms(h.saturation.latencyMs),
          h.saturation.latencyMs.max,
          h.saturation.failed,
        ],
      ],
    ),
    `Transactions/s during saturation: replica ${h.transactionsPerSecond.replica}, primary ${h.transactionsPerSecond.primary}. Cores busy: ${cores(h.cpuCoresBusy)}. API CPU per page: ${h.apiCpuMsPerRead} ms.`,
  );
  const f = r.figures;
  const a = r.assumptions;
  push(
    '## Capacity model',
    `Per process, from this run: API ${f.apiCpuMsPerMessage} ms CPU per message (accept + WebSocket push), ${f.apiCpuMsPerRead} ms per history page, ` +
      `${f.apiCoresPer1000Connections} cores per 1,000 idle connections, ${(f.bytesPerConnection / 1024).toFixed(1)} KiB per connection over a ${f.apiBaseRssMiB} MiB base; ` +
      `worker ${f.workerCpuMsPerMessage} ms CPU per message. One Node process per instance uses at most one core, up to ${a.targetCpu * 100} % (the scale-out threshold); ` +
      `demand per concurrent user: ${a.connectionsPerUser} connection, ${a.messagesPerUserPerSecond} msg/s at peak (the plan's 5,000 msg/s for 10,000 users), ${a.historyReadsPerUserPerSecond} history pages/s; ` +
      `connections per API process capped by ${a.memoryHeadroom * 100} % of instance memory and by what the bench held.`,
    table(
      [
        'tier',
        'users',
        'peak msg/s',
        'api needed (cpu / conns)',
        'api configured min/desired/max',
        'worker needed',
        'worker configured',
        'verdict',
      ],
      r.capacity.map((t) => [
        t.tier,
        t.users,
        t.messagesPerSecond,
        `${t.api.needed} ${t.api.instanceType} (${t.api.byCpu} / ${t.api.byConnections})`,
        `${t.api.configured.min}/${t.api.configured.desired}/${t.api.configured.max}`,
        `${t.worker.needed} ${t.worker.instanceType}`,
        `${t.worker.configured.min}/${t.worker.configured.desired}/${t.worker.configured.max}`,
        t.verdict.join('; '),
      ]),
    ),
  );
  push(
    '## Method',
    '- The API and the worker run as separate processes from a build of the sources (`node …/server/main.js`, `node …/worker/main.js`), NODE_ENV=production, LOG_LEVEL=warn, rate limits raised (RATE_LIMITS), open-file limit 65536; each phase gets fresh processes and its own queues.',
    "- Fixed rates are open loop (request i is due at i/rate; latency counts from when it was due). Saturation is autocannon, closed loop. autocannon's own rate option releases each second's quota in a burst, so it is not used for fixed rates.",
    '- Cores busy come from /proc (user + system CPU seconds per wall second) for our processes, the load generator (`bench`) and each service.',
  );
  return lines.join('\n');
}
