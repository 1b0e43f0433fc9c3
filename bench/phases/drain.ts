import { createConversation, createTestQueues, messageBody, openDatabase, sendBodies } from '../../worker/test/helpers';
import { CpuMeter, cpuMsPer, SERVICE_GROUPS } from '../lib/cpu';
import { scrapeMetric, startWorker } from '../lib/processes';
import { perSecond } from '../lib/stats';
import { BenchContext, sleep, StoredMessages } from './common';

/**
 * Worker drain, as worker/bench/drain-rate.ts measures it: pre-fill a private FIFO queue spread over 100
 * conversations (one message group each), start one worker process with 8 receive loops, time from the first
 * stored message to the last. Done here rather than through drain-rate so the worker's CPU is read by its pid:
 * on a shared machine other checkouts' workers match any command-line pattern.
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

const LOOPS = 8;
const CONVERSATIONS = 100;
const TIMEOUT_MS = 300_000;

async function meanBatchMs(metricsUrl: string): Promise<number> {
  const series = (suffix: string) =>
    scrapeMetric(metricsUrl, `cyphr_worker_batch_duration_seconds_${suffix}{queue="messages"}`);
  const [sum, count] = await Promise.all([series('sum'), series('count')]);
  return Number(((sum / count) * 1000).toFixed(1));
}

/** Polls until `count()` reaches `done`, or fails after the timeout. */
async function until(count: () => Promise<number>, done: (n: number) => boolean, what: string): Promise<number> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const n = await count();
    if (done(n)) return n;
    if (Date.now() > deadline) throw new Error(`drain: ${what} not within ${TIMEOUT_MS / 1000} s (${n} stored)`);
    await sleep(50);
  }
}

export async function measureDrain(ctx: BenchContext): Promise<DrainResult> {
  const { settings, progress } = ctx;
  const total = settings.drainMessages;
  progress.update(`pre-filling ${total} messages over ${CONVERSATIONS} conversations`);
  const db = await openDatabase();
  const queues = await createTestQueues(ctx.sqs, { visibilityTimeout: 30, maxReceiveCount: 5 });
  try {
    const conversations = await Promise.all(Array.from({ length: CONVERSATIONS }, () => createConversation(db, 2)));
    const ids = conversations.map((conversation) => conversation.id);
    const bodies = Array.from({ length: total }, (_, index) => messageBody(conversations[index % CONVERSATIONS]));
    await sendBodies(ctx.sqs, queues.messages, bodies, 16);

    progress.update(`one worker process drains ${total} messages`);
    const stored = new StoredMessages(ids);
    const worker = await startWorker({
      SQS_MESSAGES_QUEUE_URL: queues.messages,
      SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications,
      WORKER_RECEIVE_LOOPS: String(LOOPS),
    });
    const groups = { worker: { pids: () => [worker.pid] }, bench: { pids: () => [process.pid] }, ...SERVICE_GROUPS };
    try {
      // From the first stored message, so start-up is not counted; a small queue drained between two looks
      // falls back to the whole time since the worker answered.
      const sinceReady = new CpuMeter(groups);
      sinceReady.start();
      const count = () => stored.count();
      const first = await until(count, (n) => n > 0, 'first message');
      const sinceFirst = new CpuMeter(groups);
      sinceFirst.start();
      await until(count, (n) => n >= total, 'all stored');
      const meter = first < total ? sinceFirst : sinceReady;
      const messages = first < total ? total - first : total;
      const seconds = meter.elapsedSeconds();
      const workerCpuSeconds = meter.cpuSeconds().worker;
      const cpuCoresBusy = meter.stop();
      const result: DrainResult = {
        messages,
        seconds: Number(seconds.toFixed(3)),
        messagesPerSecond: perSecond(messages, seconds),
        loops: LOOPS,
        meanBatchMs: await meanBatchMs(`http://127.0.0.1:${worker.metricsPort}/metrics`),
        cpuCoresBusy,
        workerCpuMsPerMessage: cpuMsPer(workerCpuSeconds, messages),
      };
      progress.note(
        `${result.messagesPerSecond} stored/s (${messages} messages in ${result.seconds} s), worker ${result.workerCpuMsPerMessage} ms CPU/msg`,
      );
      return result;
    } finally {
      await worker.stop();
      await stored.close();
    }
  } finally {
    await queues.remove();
    await db.destroy();
  }
}
