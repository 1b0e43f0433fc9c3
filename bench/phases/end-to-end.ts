import { randomUUID } from 'node:crypto';
import { CyphrClient, LiveConnection, StoredMessage } from '../../scripts/testing/api-client';
import { CpuMeter, cpuMsPer, SERVICE_GROUPS } from '../lib/cpu';
import { inParallel } from '../lib/fixtures';
import { paced } from '../lib/load';
import { LatencySummary, summarize } from '../lib/stats';
import { startApi, startWorker } from '../lib/processes';
import { BenchContext, phaseQueues, sendRequest, sleep, StoredMessages } from './common';

/**
 * End to end: HTTP send → SQS → worker (store on the primary, publish on Redis) → API → the recipient's
 * WebSocket. Every recipient holds one live connection; senders post at a fixed offered rate spread over
 * all pairs. Latency runs from the moment a request is issued to the moment its message arrives. The
 * delivered events also carry sentAt (API accepted) and storedAt (worker's transaction), which splits the
 * time into queue + store and fan-out.
 */
export interface EndToEndRun {
  rate: number;
  seconds: number;
  accepted: number;
  delivered: number;
  latencyMs: LatencySummary;
  acceptLatencyMs: LatencySummary;
  queueAndStoreMs: LatencySummary;
  fanOutMs: LatencySummary;
  /** Cores busy while the load ran. */
  cpuCoresBusy: Record<string, number>;
  /** Rows stored in PostgreSQL during the run (read once the deliveries arrived). */
  stored: number;
  /** API CPU ms per accepted message, accept and push to the socket, until the last delivery. */
  apiCpuMsPerMessage: number;
  /** Worker CPU ms per stored message, until the last delivery. */
  workerCpuMsPerMessage: number;
}

export async function measureEndToEnd(ctx: BenchContext): Promise<EndToEndRun[]> {
  const { settings, progress, fixtures } = ctx;
  const queues = await phaseQueues(ctx.sqs);
  const api = await startApi(queues.env);
  const worker = await startWorker(queues.env);
  const connections: LiveConnection[] = [];
  const stored = new StoredMessages(fixtures.pairs.map((pair) => pair.conversationId));
  try {
    const client = new CyphrClient(api.url);
    const pairs = fixtures.pairs;
    progress.update(`connecting ${pairs.length} recipients`);
    connections.push(...(await inParallel(pairs, 20, (pair) => client.connect(pair.recipient))));

    const sentAt = new Map<string, number>();
    let latencies: number[] = [];
    let queueAndStore: number[] = [];
    let fanOut: number[] = [];
    for (const connection of connections) {
      connection.ws.on('message', (data) => {
        const arrived = performance.now();
        const event = JSON.parse(data.toString()) as { type: string; message?: StoredMessage };
        if (event.type !== 'message' || !event.message) return;
        const started = sentAt.get(event.message.clientMessageId);
        if (started === undefined) return;
        sentAt.delete(event.message.clientMessageId);
        latencies.push(arrived - started);
        const stored = Date.parse(event.message.storedAt);
        queueAndStore.push(stored - Date.parse(event.message.sentAt));
        fanOut.push(Date.now() - stored);
      });
    }
    const next = (index: number) => {
      const id = randomUUID();
      sentAt.set(id, performance.now());
      return sendRequest(pairs[index % pairs.length], id);
    };

    progress.update('warm-up');
    await paced(api.url, { rate: 100, seconds: settings.warmupSeconds, maxSockets: 32, okStatus: 202, next });
    await sleep(1000);

    const runs: EndToEndRun[] = [];
    for (const rate of settings.e2eRates) {
      sentAt.clear();
      latencies = [];
      queueAndStore = [];
      fanOut = [];
      for (const connection of connections) connection.events.length = 0;
      const meter = new CpuMeter({
        api: { pids: () => [api.pid] },
        worker: { pids: () => [worker.pid] },
        bench: { pids: () => [process.pid] },
        ...SERVICE_GROUPS,
      });
      const storedBefore = await stored.count();
      meter.start();
      const load = await paced(api.url, {
        rate,
        seconds: settings.phaseSeconds,
        maxSockets: 64,
        okStatus: 202,
        next,
        onTick: (ok) => {
          for (const connection of connections) connection.events.length = 0;
          progress.update(`${rate}/s: ${ok} accepted, ${latencies.length} delivered`);
        },
      });
      const cpuCoresBusy = meter.stop();
      // Late arrivals: up to 10 s for the last accepted messages to arrive.
      const deadline = Date.now() + 10_000;
      while (latencies.length < load.ok && Date.now() < deadline) await sleep(100);
      const cpuSeconds = meter.cpuSeconds();
      const storedInRun = (await stored.count()) - storedBefore;
      const run: EndToEndRun = {
        rate,
        seconds: settings.phaseSeconds,
        accepted: load.ok,
        delivered: latencies.length,
        latencyMs: summarize(latencies),
        acceptLatencyMs: load.latencyMs,
        queueAndStoreMs: summarize(queueAndStore),
        fanOutMs: summarize(fanOut),
        cpuCoresBusy,
        stored: storedInRun,
        apiCpuMsPerMessage: cpuMsPer(cpuSeconds.api, load.ok),
        workerCpuMsPerMessage: cpuMsPer(cpuSeconds.worker, storedInRun),
      };
      progress.note(
        `${rate}/s: delivered ${run.delivered}/${run.accepted}, p50 ${run.latencyMs.p50} p95 ${run.latencyMs.p95} p99 ${run.latencyMs.p99} ms; API ${run.apiCpuMsPerMessage}, worker ${run.workerCpuMsPerMessage} ms CPU/msg`,
      );
      runs.push(run);
      await sleep(1000);
    }
    return runs;
  } finally {
    for (const connection of connections) connection.close();
    await Promise.all([api.stop(), worker.stop(), stored.close()]);
    await queues.remove();
  }
}
