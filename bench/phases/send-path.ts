import { queueDepth } from '../../worker/test/helpers';
import { CpuMeter, SERVICE_GROUPS } from '../lib/cpu';
import { LoadResult, paced, saturate } from '../lib/load';
import { startApi } from '../lib/processes';
import { BenchContext, phaseQueues, sendRequest } from './common';

/**
 * Send path: POST .../messages → membership check (Redis) → SQS SendMessageBatch → 202, on one API process
 * with no worker (the queue only fills). At a fixed offered rate, then at saturation with autocannon.
 * Afterwards the queue must hold at least every accepted message: 202 means durable.
 */
export interface SendPathResult {
  fixed: LoadResult & { offered: number };
  saturation: LoadResult & { connections: number };
  cpuCoresBusy: Record<string, number>;
  /** API CPU milliseconds per accepted message at saturation (what the capacity model scales). */
  apiCpuMsPerMessage: number;
  queued: number;
  accepted: number;
}

export async function measureSendPath(ctx: BenchContext): Promise<SendPathResult> {
  const { settings, progress, fixtures } = ctx;
  const queues = await phaseQueues(ctx.sqs);
  const api = await startApi(queues.env);
  try {
    const pairs = fixtures.pairs;
    let sent = 0;
    const next = () => sendRequest(pairs[sent++ % pairs.length]);
    progress.update('warm-up');
    await paced(api.url, { rate: 200, seconds: settings.warmupSeconds, maxSockets: 32, okStatus: 202, next });

    progress.update(`fixed rate ${settings.sendFixedRate}/s`);
    const fixed = await paced(api.url, {
      rate: settings.sendFixedRate,
      seconds: settings.phaseSeconds,
      maxSockets: 64,
      okStatus: 202,
      next,
      onTick: (ok, inFlight) =>
        progress.update(`fixed rate ${settings.sendFixedRate}/s: ${ok} accepted, ${inFlight} in flight`),
    });
    progress.note(`fixed ${fixed.offered}/s: ${fixed.okPerSecond}/s accepted, p95 ${fixed.latencyMs.p95} ms`);

    const meter = new CpuMeter({
      api: { pids: () => [api.pid] },
      bench: { pids: () => [process.pid] },
      ...SERVICE_GROUPS,
    });
    meter.start();
    const saturation = await saturate(api.url, {
      connections: settings.sendConnections,
      seconds: settings.phaseSeconds,
      okStatus: 202,
      next,
      onTick: (ok) => progress.update(`saturation (${settings.sendConnections} connections): ${ok} accepted`),
    });
    const cpuCoresBusy = meter.stop();
    progress.note(`saturation: ${saturation.okPerSecond}/s accepted, p95 ${saturation.latencyMs.p95} ms`);

    const accepted = fixed.ok + saturation.ok;
    const queued = await queueDepth(ctx.sqs, queues.messages);
    return {
      fixed,
      saturation: { ...saturation, connections: settings.sendConnections },
      cpuCoresBusy,
      apiCpuMsPerMessage: Number(((cpuCoresBusy.api * 1000) / Math.max(1, saturation.okPerSecond)).toFixed(3)),
      queued,
      accepted,
    };
  } finally {
    await api.stop();
    await queues.remove();
  }
}
