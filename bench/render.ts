import type { MeasuredFigures, TierCapacity } from './capacity';
import type { ConnectionsResult } from './phases/connections';
import type { DrainResult } from './phases/drain';
import type { EndToEndRun } from './phases/end-to-end';
import type { HistoryResult } from './phases/history';
import type { LimitsResult } from './phases/limits';
import type { ModerateResult } from './phases/moderate';
import type { SendPathResult } from './phases/send-path';
import { capacityFiguresOf } from './capacity-figures';
import { BenchFigures, BenchReport, capacityInputs, completeFigures, REPORT_SECTIONS } from './report';
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

type Section = Array<string>;

function header(r: BenchReport): Section {
  // Reports written before `--only` have no phases: they ran every one.
  const only =
    r.phases && r.phases.length < REPORT_SECTIONS.length ? ` Phases run: ${r.phases.join(', ')} (\`--only\`).` : '';
  return [
    `# Cyphr benchmark report (${r.mode})`,
    `${r.startedAt} → ${r.finishedAt} (${Math.round(r.seconds)} s), commit ${r.machine.commit}. ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}. ` +
      `Everything on one machine over loopback: PostgreSQL primary + replica, Redis, the SQS server (fauxqs), the API and worker processes, the load generator. ` +
      `Load average (1/5/15 min) before ${r.machine.loadBefore.join(' / ')}, after ${r.machine.loadAfter.join(' / ')}.${only}`,
  ];
}

function targets(r: BenchReport): Section {
  return [
    '## Targets',
    table(
      ['target', 'measured', 'met'],
      r.targets.map((t) => [t.target, t.measured, t.met ? 'yes' : '**no**']),
    ),
  ];
}

function limits(r: BenchReport, l: LimitsResult): Section {
  const client = l.clientCpuMsPerMessage;
  return [
    '## Limits and ratios',
    table(
      ['limit (measured in this run)', 'rate', 'client CPU ms/message'],
      [
        [
          `SQS server: SendMessageBatch ×10, ${l.sqsSend.parallel} in parallel`,
          `${l.sqsSend.messagesPerSecond} msg/s`,
          client.sqsSend,
        ],
        [
          `SQS server: receive + delete, ${l.sqsReceiveDelete.loops} loops`,
          `${l.sqsReceiveDelete.messagesPerSecond} msg/s`,
          `${client.sqsReceiveDelete} (with the pre-fill's send)`,
        ],
        [
          `PostgreSQL: the worker's 10-row insert, ${l.postgresInsert.parallel} in parallel`,
          `${l.postgresInsert.rowsPerSecond} rows/s (${l.postgresInsert.commitsPerSecond} commits/s)`,
          `${client.postgresInsert} per row`,
        ],
        [
          `Redis pub/sub: ${l.redisPubSub.channels} channels, one subscriber`,
          `${l.redisPubSub.messagesPerSecond} msg/s`,
          '',
        ],
      ],
    ),
    table(
      ['our figure', 'measured', 'limit it sits on', 'limit', 'ratio'],
      r.ratios.map((x) => [x.figure, x.measured, x.limit, x.limitValue, x.ratio]),
    ),
    'Client CPU: what the raw loop cost this process (same SDK and drivers as the API and worker, full batches, set-up included) per message; the floor under our CPU per message.',
  ];
}

function sendPath(p: SendPathResult): Section {
  const g = p.group;
  return [
    '## Send path (POST .../messages → 202, durable in SQS; one API process, no worker)',
    table(
      ['load', 'accepted/s', 'p50 / p95 / p99 ms', 'max ms', 'failed', 'API CPU ms/message', 'cores busy'],
      [
        [
          `1:1, fixed ${p.fixed.offered}/s (open loop)`,
          p.fixed.okPerSecond,
          ms(p.fixed.latencyMs),
          p.fixed.latencyMs.max,
          p.fixed.failed,
          '',
          '',
        ],
        [
          `1:1, saturation, autocannon ${p.saturation.connections} connections`,
          p.saturation.okPerSecond,
          ms(p.saturation.latencyMs),
          p.saturation.latencyMs.max,
          p.saturation.failed,
          p.apiCpuMsPerMessage,
          cores(p.cpuCoresBusy),
        ],
        [
          `${g.members} members (${g.conversations} groups), saturation, ${g.saturation.connections} connections`,
          g.saturation.okPerSecond,
          ms(g.saturation.latencyMs),
          g.saturation.latencyMs.max,
          g.saturation.failed,
          g.apiCpuMsPerMessage,
          cores(g.cpuCoresBusy),
        ],
      ],
    ),
    `One device per member. Queue depth afterwards ${p.queued} ≥ ${p.accepted} accepted: ${p.queued >= p.accepted ? 'every 202 was durable' : '**messages missing**'}.`,
  ];
}

const windowCount = (x: ModerateResult) => x.windows?.length ?? 1;

function moderate(x: ModerateResult): Section {
  const pushes = x.notifications;
  return [
    `## Moderate load (${x.apiProcesses} API processes + 1 worker, LOG_LEVEL=${x.logLevel}; recipients offline with a push token)`,
    table(
      [
        'offered',
        'accepted (failed)',
        'stored',
        'pushes delivered',
        'HTTP 202 p50 / p95 / p99 ms',
        'API CPU ms/accepted',
        'worker CPU ms/stored',
        'cores busy',
      ],
      [
        [
          `${x.senders} senders × ${x.offeredPerSecond / x.senders}/s = ${x.offeredPerSecond}/s for ${windowCount(x) > 1 ? `${windowCount(x)} × ` : ''}${x.seconds} s`,
          `${x.accepted} (${x.failed})`,
          x.stored,
          pushes.delivered,
          ms(x.acceptLatencyMs),
          x.apiCpuMsPerMessage,
          x.workerCpuMsPerMessage,
          cores(x.cpuCoresBusy),
        ],
      ],
    ),
    `${x.conversations} one-to-one conversations, one device each side; senders split evenly over the API processes, open loop, after a warm-up at the same load (20 s in a full run: V8 compiling the hot paths is CPU a long-running process no longer pays). ` +
      `Every stored message queues a notification, which the worker posts through its webhook provider to a sink in the bench process (answers 204, checks the signature: ${pushes.unsigned} unsigned, ${pushes.badSignature} bad). ` +
      `API CPU is both processes until the load ended; worker CPU until it had stored everything and emptied both queues ` +
      `(${x.caughtUp ? `${x.catchUpSeconds} s after the load` : `**not within the bound; ${x.catchUpSeconds} s**`}). Cores busy: during the load` +
      (windowCount(x) > 1
        ? ` of the last window. The CPU figures are the medians of ${windowCount(x)} windows of ${x.seconds} s measured one after another at the same load (API ${x.windows!.map((w) => w.apiCpuMsPerMessage).join(', ')}; worker ${x.windows!.map((w) => w.workerCpuMsPerMessage).join(', ')} ms): on this shared machine one window's figure moves by about ±15 % from run to run.`
        : '.'),
  ];
}

function endToEnd(runs: EndToEndRun[]): Section {
  return [
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
        'API CPU ms/accepted',
        'worker CPU ms/stored',
        'cores busy',
      ],
      runs.map((run) => [
        run.rate,
        `${run.delivered} / ${run.accepted}`,
        ms(run.latencyMs),
        run.latencyMs.max,
        ms(run.acceptLatencyMs),
        `${run.queueAndStoreMs.p50} / ${run.queueAndStoreMs.p95}`,
        `${run.fanOutMs.p50} / ${run.fanOutMs.p95}`,
        run.apiCpuMsPerMessage,
        run.workerCpuMsPerMessage,
        cores(run.cpuCoresBusy),
      ]),
    ),
    'Queue + store: API accepted (sentAt) → worker transaction (storedAt); fan-out: storedAt → arrival (ms clock resolution). CPU per message counts until the last delivery; cores busy, during the load.',
  ];
}

function connections(c: ConnectionsResult): Section {
  return [
    '## Connections (one API process, authenticated WebSockets with heartbeats)',
    table(
      [
        'target',
        'opened (failed)',
        'open time',
        'held through',
        'server count',
        'RSS before → peak → after',
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
          `${c.rssBeforeMiB} → ${c.rssPeakMiB ?? '?'} → ${c.rssAfterMiB} MiB`,
          `${(c.bytesPerConnection / 1024).toFixed(1)} KiB`,
          c.apiCoresWhileHolding,
        ],
      ],
    ),
    `${c.users} users × ${c.perUser} connections each (registering 10,000 users through argon2 would take minutes on 2 cores); every connection authenticates on its own. Per connection: (peak − before) / held, an upper bound: V8 hands garbage back late, so the RSS after the hold can read below the start.${c.firstError ? ` First failure: ${c.firstError}.` : ''}`,
  ];
}

function drain(d: DrainResult): Section {
  return [
    '## Worker drain (one worker process, 8 receive loops, pre-filled queue)',
    table(
      ['messages', 'seconds', 'stored/s', 'mean batch ms', 'worker CPU ms/message', 'cores busy'],
      [[d.messages, d.seconds, d.messagesPerSecond, d.meanBatchMs, d.workerCpuMsPerMessage, cores(d.cpuCoresBusy)]],
    ),
  ];
}

function history(h: HistoryResult): Section {
  return [
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
  ];
}

/** The per-operation figures by shape and load (reports from before them have none). */
function perOperation(f: Partial<BenchFigures>): string {
  if (!completeFigures(f)) return '';
  return (
    ` Measured per operation and shape (report.json figures): send 1:1 ${f.sendApiCpuMsPerMessage} ms, ${f.groupMembers} members ${f.groupSendApiCpuMsPerMessage} ms; ` +
    `moderate load API ${f.moderateApiCpuMsPerMessage} ms, worker ${f.moderateWorkerCpuMsPerMessage} ms; end to end API ${f.e2eApiCpuMsPerMessage} ms, worker ${f.e2eWorkerCpuMsPerMessage} ms; drain worker ${f.drainWorkerCpuMsPerMessage} ms.`
  );
}

function capacity(r: Pick<BenchReport, 'assumptions' | 'figures'>, f: MeasuredFigures, tiers: TierCapacity[]): Section {
  const a = r.assumptions;
  return [
    '## Capacity model',
    `Per process, from this run: API ${f.apiCpuMsPerMessage} ms CPU per message (accept + WebSocket push), ${f.apiCpuMsPerRead} ms per history page, ` +
      `${f.apiCoresPer1000Connections} cores per 1,000 idle connections, ${(f.bytesPerConnection / 1024).toFixed(1)} KiB per connection over a ${f.apiBaseRssMiB} MiB base; ` +
      `worker ${f.workerCpuMsPerMessage} ms CPU per message. An instance runs one Node process per vCPU (infra/config/processes.ts), each using one core up to ${a.targetCpu * 100} % (the scale-out threshold), ${a.instanceOverheadCores} core per instance left to the system; ` +
      (f.moderate
        ? `a tier whose processes each carry no more than the moderate-load phase did (${f.moderate.apiMessagesPerSecondPerProcess} msg/s per API process, ${f.moderate.workerMessagesPerSecondPerProcess} per worker) is costed at its ${f.moderate.apiCpuMsPerMessage} / ${f.moderate.workerCpuMsPerMessage} ms; `
        : '') +
      (f.groupMessage?.apiCpuMsPerMessage !== undefined
        ? `${a.groupMessageShare * 100} % of messages go to 10-member conversations (API ${f.groupMessage.apiCpuMsPerMessage} ms each); `
        : '') +
      `demand per concurrent user: ${a.connectionsPerUser} connection, ${a.messagesPerUserPerSecond} msg/s at peak (the plan's 5,000 msg/s for 10,000 users), ${a.historyReadsPerUserPerSecond} history pages/s; ` +
      `connections per API process capped by ${a.memoryHeadroom * 100} % of instance memory and by what the bench held.` +
      perOperation(r.figures),
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
      tiers.map((t) => [
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
  ];
}

const METHOD: Section = [
  '## Method',
  '- The API and the worker run as separate processes from a build of the sources (`node …/server/main.js`, `node …/worker/main.js`), NODE_ENV=production, LOG_LEVEL=warn (info in the moderate-load phase, as the stack sets it), rate limits raised (RATE_LIMITS), open-file limit 65536; each phase gets fresh processes and its own queues.',
  "- Fixed rates are open loop (request i is due at i/rate; latency counts from when it was due). Saturation is autocannon, closed loop. autocannon's own rate option releases each second's quota in a burst, so it is not used for fixed rates.",
  '- Cores busy come from /proc (user + system CPU seconds per wall second) for our processes, the load generator (`bench`) and each service; CPU ms per operation is CPU seconds from /proc divided by the operations counted (accepted 202s, rows stored, pages served).',
];

/** The capacity model's paragraph and table alone (`--model-only`, on any report's figures). */
export function renderCapacity(
  r: Pick<BenchReport, 'assumptions' | 'figures'>,
  f: MeasuredFigures,
  tiers: TierCapacity[],
): string {
  return capacity(r, f, tiers).slice(1).join('\n\n');
}

/** Only the sections of the phases that ran; the capacity model only when every phase did. */
export function renderMarkdown(r: BenchReport): string {
  const m = r.measurements;
  const sections: Section[] = [header(r), targets(r)];
  if (m.limits) sections.push(limits(r, m.limits));
  if (m.sendPath) sections.push(sendPath(m.sendPath));
  if (m.moderate) sections.push(moderate(m.moderate));
  if (m.endToEnd) sections.push(endToEnd(m.endToEnd));
  if (m.connections) sections.push(connections(m.connections));
  if (m.drain) sections.push(drain(m.drain));
  if (m.history) sections.push(history(m.history));
  if (r.capacity && capacityInputs(r.figures)) sections.push(capacity(r, capacityFiguresOf(r), r.capacity));
  sections.push(METHOD);
  // blank lines keep tables apart
  return sections.map((section) => `${section.join('\n\n')}\n`).join('\n');
}
