import { join } from 'node:path';
import { drain } from '../../worker/bench/drain-rate';
import { ROOT } from '../lib/processes';
import { BenchContext } from './common';

/**
 * Worker drain: worker/bench/drain-rate.ts's measurement (pre-fill a private queue, start one worker
 * process with 8 receive loops, time from the first stored message to the last; each message notifies one
 * offline member), run on the bench's compiled worker instead of ts-node.
 */
export interface DrainResult {
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  loops: number;
  meanBatchMs: number;
  cpuCoresBusy: Record<string, number>;
  /** Worker CPU milliseconds per stored message (what the capacity model scales). */
  workerCpuMsPerMessage: number;
}

export async function measureDrain(ctx: BenchContext): Promise<DrainResult> {
  const { settings, progress } = ctx;
  progress.update(`pre-filling ${settings.drainMessages} messages, then one worker process drains them`);
  const result = (await drain(settings.drainMessages, 8, 1, [
    join(ROOT, '.local', 'bench', 'build', 'worker', 'main.js'),
  ])) as {
    messages: number;
    seconds: number;
    perSecond: number;
    loops: number;
    meanBatchMs: number;
    cpuCoresBusy: Record<string, string | number>;
  };
  const cpuCoresBusy = Object.fromEntries(
    Object.entries(result.cpuCoresBusy).map(([name, value]) => [name, Number(value)]),
  );
  progress.note(`${result.perSecond} stored/s (${result.messages} messages in ${result.seconds} s)`);
  return {
    messages: result.messages,
    seconds: result.seconds,
    messagesPerSecond: result.perSecond,
    loops: result.loops,
    meanBatchMs: result.meanBatchMs,
    cpuCoresBusy,
    workerCpuMsPerMessage: Number(((cpuCoresBusy.worker * 1000) / Math.max(1, result.perSecond)).toFixed(3)),
  };
}
