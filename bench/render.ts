import type { BenchReport } from './report';
import type { LatencySummary } from './lib/stats';

/** The bench report as Markdown (bench/reports/*.md, bench/RESULTS.md). */
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
  const push = (...text: string[]) => lines.push(text.join('\n\n'), ''); // blank lines keep tables apart
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
