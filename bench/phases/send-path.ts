import { queueDepth } from '../../worker/test/helpers';
import { CpuMeter, cpuMsPer, SERVICE_GROUPS } from '../lib/cpu';
import { LoadResult, paced, RequestSpec, saturate } from '../lib/load';
import { ApiProcess, startApi } from '../lib/processes';
import { BenchContext, phaseQueues, sendRequest } from './common';

/**
 * Send path: POST .../messages → membership check (Redis) → SQS SendMessageBatch → 202, on one API process
 * with no worker (the queue only fills). For a 1:1 conversation (one device each side): at a fixed offered
 * rate, then at saturation with autocannon; then at saturation for group conversations, whose membership is
 * larger. Afterwards the queue must hold at least every accepted message: 202 means durable.
 */
export interface SaturationResult {
  saturation: LoadResult & { connections: number };
  cpuCoresBusy: Record<string, number>;
  /** API CPU milliseconds per accepted message at saturation. */
  apiCpuMsPerMessage: number;
}

export interface SendPathResult extends SaturationResult {
  fixed: LoadResult & { offered: number };
  /** The same saturation, sending to group conversations of `members` members. */
  group: SaturationResult & { members: number; conversations: number };
  queued: number;
  accepted: number;
}

async function saturation(
  ctx: BenchContext,
  api: ApiProcess,
  what: string,
  next: () => RequestSpec,
): Promise<SaturationResult> {
  const { settings, progress } = ctx;
  const meter = new CpuMeter({
    api: { pids: () => [api.pid] },
    bench: { pids: () => [process.pid] },
    ...SERVICE_GROUPS,
  });
  meter.start();
  const load = await saturate(api.url, {
    connections: settings.sendConnections,
    seconds: settings.phaseSeconds,
    okStatus: 202,
    next,
    onTick: (ok) => progress.update(`saturation ${what} (${settings.sendConnections} connections): ${ok} accepted`),
  });
  const apiCpuSeconds = meter.cpuSeconds().api;
  const cpuCoresBusy = meter.stop();
  const apiCpuMsPerMessage = cpuMsPer(apiCpuSeconds, load.ok);
  progress.note(
    `saturation ${what}: ${load.okPerSecond}/s accepted, p95 ${load.latencyMs.p95} ms, API ${apiCpuMsPerMessage} ms CPU/msg`,
  );
  return { saturation: { ...load, connections: settings.sendConnections }, cpuCoresBusy, apiCpuMsPerMessage };
}

export async function measureSendPath(ctx: BenchContext): Promise<SendPathResult> {
  const { settings, progress, fixtures } = ctx;
  const queues = await phaseQueues(ctx.sqs);
  const api = await startApi(queues.env);
  try {
    const { pairs, groups } = fixtures;
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

    const oneToOne = await saturation(ctx, api, '1:1', next);
    let groupSent = 0;
    const members = groups[0]?.memberIds.length ?? 0;
    const group = await saturation(ctx, api, `${members} members`, () =>
      sendRequest(groups[groupSent++ % groups.length]),
    );

    const accepted = fixed.ok + oneToOne.saturation.ok + group.saturation.ok;
    const queued = await queueDepth(ctx.sqs, queues.messages);
    return {
      fixed,
      ...oneToOne,
      group: { ...group, members, conversations: groups.length },
      queued,
      accepted,
    };
  } finally {
    await api.stop();
    await queues.remove();
  }
}
