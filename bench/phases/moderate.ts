import { randomBytes } from 'node:crypto';
import { CyphrClient } from '../../scripts/testing/api-client';
import { queueDepth } from '../../worker/test/helpers';
import { CpuMeter, cpuMsPer, SERVICE_GROUPS } from '../lib/cpu';
import { Pair } from '../lib/fixtures';
import { paced } from '../lib/load';
import { ApiProcess, startApi, startWorker } from '../lib/processes';
import { PushSink, PushSinkCounts } from '../lib/push-sink';
import { LatencySummary, median, summarize } from '../lib/stats';
import { BenchContext, phaseQueues, sendRequest, sleep, StoredMessages } from './common';

/**
 * Moderate load, as most deployments run: two API processes and one worker, all at LOG_LEVEL=info (as the
 * stack sets it), one-to-one conversations whose recipients have a push token and no open socket, so every
 * stored message also queues a notification that the worker delivers through its webhook provider to a sink
 * in this process (the path production runs). Open-loop senders, half per API process, each at a fixed rate.
 * At this load SQS batches do not fill, so each call's fixed cost is shared by few messages; saturation hides
 * that, which is why this phase exists. API CPU is read when the load ends, the worker's once it has stored
 * every accepted message and emptied both queues.
 */
export interface ModerateResult {
  apiProcesses: number;
  logLevel: string;
  conversations: number;
  senders: number;
  offeredPerSecond: number;
  seconds: number;
  accepted: number;
  failed: number;
  /** Rows stored in PostgreSQL for the phase's conversations during the measurement. */
  stored: number;
  notifications: PushSinkCounts;
  /** Whether the worker stored everything accepted and emptied both queues within the bound. */
  caughtUp: boolean;
  /** Seconds from the end of the load until then. */
  catchUpSeconds: number;
  acceptLatencyMs: LatencySummary;
  /** Cores busy while the load ran; `api` is both API processes together. */
  cpuCoresBusy: Record<string, number>;
  /** Both API processes' CPU ms per accepted message (the median of the windows). */
  apiCpuMsPerMessage: number;
  /** Worker CPU ms per stored message, its notification consumer and webhook pushes included (the median). */
  workerCpuMsPerMessage: number;
  /**
   * Each measured window's figures, in order: a full run measures several, one after another at the same load, and
   * reports their medians, so one disturbed window does not make the figure. Counts above are their sums.
   */
  windows?: WindowFigures[];
}

export interface WindowFigures {
  apiCpuMsPerMessage: number;
  workerCpuMsPerMessage: number;
}

const API_PROCESSES = 2;
const LOG_LEVEL = 'info';
const CATCH_UP_TIMEOUT_MS = 60_000;

/** Polls until `expected` rows are stored and both queues are empty (in flight and delayed included). */
async function catchUp(
  ctx: BenchContext,
  queues: { messages: string; notifications: string },
  rows: StoredMessages,
  expected: number,
  timeoutMs: number,
): Promise<{ stored: number; caughtUp: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [stored, messages, notifications] = await Promise.all([
      rows.count(),
      queueDepth(ctx.sqs, queues.messages),
      queueDepth(ctx.sqs, queues.notifications),
    ]);
    const done = stored >= expected && messages === 0 && notifications === 0;
    if (done || Date.now() > deadline) return { stored, caughtUp: done };
    ctx.progress.update(`catching up: ${stored}/${expected} stored, ${messages} + ${notifications} queued`);
    await sleep(200);
  }
}

/** Sender k posts to pair k mod conversations through API process k mod 2. */
async function offer(
  apis: ApiProcess[],
  pairs: Pair[],
  senders: number,
  ratePerSender: number,
  seconds: number,
  onOk?: (latencyMs: number) => void,
) {
  const loads = apis.map((api, which) => {
    const own = Array.from({ length: senders }, (_, k) => k).filter((k) => k % apis.length === which);
    return paced(api.url, {
      rate: own.length * ratePerSender,
      seconds,
      maxSockets: own.length, // at most one connection per sender
      okStatus: 202,
      next: (index) => sendRequest(pairs[own[index % own.length] % pairs.length]),
      onOk,
    });
  });
  const results = await Promise.all(loads);
  return {
    ok: results.reduce((sum, load) => sum + load.ok, 0),
    failed: results.reduce((sum, load) => sum + load.failed, 0),
  };
}

type WindowResult = Pick<
  ModerateResult,
  'accepted' | 'failed' | 'stored' | 'notifications' | 'caughtUp' | 'catchUpSeconds' | 'cpuCoresBusy'
> & { latencies: number[] };

/**
 * One measured window: the load for `seconds`, API CPU read when it ends, the worker's once it has stored every
 * accepted message and emptied both queues.
 */
async function measureWindow(
  ctx: BenchContext,
  run: {
    apis: ApiProcess[];
    worker: { pid: number };
    pairs: Pair[];
    rows: StoredMessages;
    queues: { messages: string; notifications: string };
    sink: PushSink;
  },
): Promise<WindowResult & WindowFigures> {
  const { senders, ratePerSender, seconds } = ctx.settings.moderate;
  const { apis, worker, pairs, rows, queues, sink } = run;
  const storedBefore = await rows.count();
  const sinkBefore = { ...sink.counts };
  const meter = new CpuMeter({
    api: { pids: () => apis.map((api) => api.pid) },
    worker: { pids: () => [worker.pid] },
    bench: { pids: () => [process.pid] },
    ...SERVICE_GROUPS,
  });
  const latencies: number[] = [];
  meter.start();
  const load = await offer(apis, pairs, senders, ratePerSender, seconds, (ms) => latencies.push(ms));
  const apiCpuSeconds = meter.cpuSeconds().api;
  const cpuCoresBusy = meter.stop();
  const loadEnded = Date.now();
  const { stored: storedAfter, caughtUp } = await catchUp(
    ctx,
    queues,
    rows,
    storedBefore + load.ok,
    CATCH_UP_TIMEOUT_MS,
  );
  const workerCpuSeconds = meter.cpuSeconds().worker;
  const stored = storedAfter - storedBefore;
  return {
    accepted: load.ok,
    failed: load.failed,
    stored,
    notifications: {
      delivered: sink.counts.delivered - sinkBefore.delivered,
      unsigned: sink.counts.unsigned - sinkBefore.unsigned,
      badSignature: sink.counts.badSignature - sinkBefore.badSignature,
    },
    caughtUp,
    catchUpSeconds: Number(((Date.now() - loadEnded) / 1000).toFixed(1)),
    latencies,
    cpuCoresBusy,
    apiCpuMsPerMessage: cpuMsPer(apiCpuSeconds, load.ok),
    workerCpuMsPerMessage: cpuMsPer(workerCpuSeconds, stored),
  };
}

export async function measureModerate(ctx: BenchContext): Promise<ModerateResult> {
  const { settings, progress, fixtures } = ctx;
  const { senders, ratePerSender, seconds, windows } = settings.moderate;
  const pairs = fixtures.pairs.slice(-settings.moderate.conversations);
  const rows = new StoredMessages(pairs.map((pair) => pair.conversationId));
  const queues = await phaseQueues(ctx.sqs);
  const sink = await PushSink.start();
  const env = { ...queues.env, LOG_LEVEL };
  const started = await Promise.allSettled([
    ...Array.from({ length: API_PROCESSES }, () => startApi(env)),
    startWorker({ ...env, ...sink.workerEnv }),
  ]);
  const processes = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failure = started.find((outcome) => outcome.status === 'rejected');
  if (failure) {
    await Promise.all(processes.map((child) => child.stop()));
    await Promise.all([sink.stop(), queues.remove(), rows.close()]);
    throw failure.reason;
  }
  const apis = processes.slice(0, API_PROCESSES) as ApiProcess[];
  const worker = processes[API_PROCESSES];
  const client = new CyphrClient(apis[0].url);
  try {
    progress.update(`registering push tokens for ${pairs.length} recipients`);
    for (const pair of pairs)
      await client.setPush(pair.recipient, 'webhook', `bench-${randomBytes(16).toString('hex')}`);

    progress.update('warm-up');
    const beforeWarmUp = await rows.count();
    const warm = await offer(apis, pairs, senders, ratePerSender, settings.moderate.warmupSeconds);
    await catchUp(ctx, queues, rows, beforeWarmUp + warm.ok, CATCH_UP_TIMEOUT_MS);

    const measured: Array<WindowResult & WindowFigures> = [];
    for (let window = 1; window <= windows; window++) {
      progress.update(
        `${senders} senders × ${ratePerSender}/s over ${API_PROCESSES} API processes (window ${window} of ${windows})`,
      );
      measured.push(await measureWindow(ctx, { apis, worker, pairs, rows, queues, sink }));
    }
    const sum = (pick: (window: WindowResult) => number) => measured.reduce((total, w) => total + pick(w), 0);
    const last = measured[measured.length - 1];
    const result: ModerateResult = {
      apiProcesses: API_PROCESSES,
      logLevel: LOG_LEVEL,
      conversations: pairs.length,
      senders,
      offeredPerSecond: senders * ratePerSender,
      seconds,
      accepted: sum((w) => w.accepted),
      failed: sum((w) => w.failed),
      stored: sum((w) => w.stored),
      notifications: {
        delivered: sum((w) => w.notifications.delivered),
        unsigned: sum((w) => w.notifications.unsigned),
        badSignature: sum((w) => w.notifications.badSignature),
      },
      caughtUp: measured.every((w) => w.caughtUp),
      catchUpSeconds: Math.max(...measured.map((w) => w.catchUpSeconds)),
      acceptLatencyMs: summarize(measured.flatMap((w) => w.latencies)),
      cpuCoresBusy: last.cpuCoresBusy,
      apiCpuMsPerMessage: median(measured.map((w) => w.apiCpuMsPerMessage)),
      workerCpuMsPerMessage: median(measured.map((w) => w.workerCpuMsPerMessage)),
      windows: measured.map(({ apiCpuMsPerMessage, workerCpuMsPerMessage }) => ({
        apiCpuMsPerMessage,
        workerCpuMsPerMessage,
      })),
    };
    progress.note(
      `${result.accepted} accepted, ${result.stored} stored, ${result.notifications.delivered} pushes; API ${result.apiCpuMsPerMessage} ms/msg, worker ${result.workerCpuMsPerMessage} ms/msg (median of ${windows})`,
    );
    return result;
  } finally {
    await Promise.all(pairs.map((pair) => client.clearPush(pair.recipient).catch(() => undefined)));
    await Promise.all(processes.map((child) => child.stop()));
    await sink.stop();
    await Promise.all([queues.remove(), rows.close()]);
  }
}
