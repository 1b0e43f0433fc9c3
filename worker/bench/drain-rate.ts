import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLocalEnvFile } from '../../common/config/local-env-file';
import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { MessageStore } from '../messages/message-store';
import { ConsumerPool } from '../queue/consumer-pool';
import {
  createConversation,
  createTestQueues,
  eventually,
  messageBody,
  openDatabase,
  queueEnv,
  sendBodies,
  testSqs,
} from '../test/helpers';
import { freePort } from '../../scripts/testing/waiting';

/**
 * Drain rate: pre-fill a private queue with N messages, start one worker process, time until every
 * message is stored. CPU seconds of each local service over the drain show what limited it.
 *
 *   npx ts-node --transpile-only worker/bench/drain-rate.ts [messages=5000] [loops=1,4,8,16] [processes=1]
 *     [conversations=100] [queue=fifo|standard]
 *
 * The messages are spread round-robin over `conversations`: on the FIFO queue a conversation is one message group,
 * drained one batch at a time, so the drain rate depends on how many conversations are active at once.
 *
 * Then two ceilings, each with one side of the worker alone, in this process:
 *   sqs-only: receive + delete with a handler that stores nothing (the SQS server's ceiling)
 *   db-only:  the worker's batch insert, 10 per statement, `loops` statements at a time (PostgreSQL's ceiling)
 */
const TICKS = 100; // getconf CLK_TCK on Linux

/** utime + stime in seconds for every process whose command line matches. */
function cpuSeconds(match: (cmdline: string, comm: string, pid: number) => boolean): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (!match(cmdline, comm, Number(pid))) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / TICKS;
    } catch {
      // the process ended
    }
  }
  return total;
}

/** The worker processes this run started (other checkouts' workers may run on the machine too). */
const ownWorkers = new Set<number>();

const GROUPS = {
  worker: (_: string, __: string, pid: number) => ownWorkers.has(pid),
  sqs: (cmdline: string) => cmdline.includes('sqs-server'),
  postgres: (_: string, comm: string) => comm.startsWith('postgres'),
  redis: (_: string, comm: string) => comm.startsWith('redis-server'),
};
const snapshot = () =>
  Object.fromEntries(Object.entries(GROUPS).map(([name, match]) => [name, cpuSeconds(match)])) as Record<
    keyof typeof GROUPS,
    number
  >;

/** Mean of a Prometheus histogram from the worker's /metrics, in milliseconds. */
async function meanMs(port: number, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (suffix: string) =>
    Number(
      text
        .split('\n')
        .find((line) => line.startsWith(`${name}_${suffix}${labels} `))
        ?.split(' ')[1] ?? NaN,
    );
  return Number(((value('sum') / value('count')) * 1000).toFixed(1));
}

/** The worker under test: ts-node on the sources by default; bench/ passes its compiled build. */
const TS_NODE_WORKER = ['-r', 'ts-node/register/transpile-only', 'worker/main.ts'];

export interface DrainShape {
  /** Conversations the messages are spread over (FIFO groups). @default 100 */
  conversations?: number;
  /** @default true: the stack's FIFO queue */
  fifo?: boolean;
}

export async function drain(
  total: number,
  loops: number,
  processes: number,
  workerArgs: string[] = TS_NODE_WORKER,
  shape: DrainShape = {},
): Promise<Record<string, unknown>> {
  const sqs = testSqs();
  const db = await openDatabase();
  const fifo = shape.fifo ?? true;
  const queues = await createTestQueues(sqs, { visibilityTimeout: 30, maxReceiveCount: 5, fifo });
  try {
    const conversations = await Promise.all(
      Array.from({ length: Math.max(1, shape.conversations ?? 100) }, () => createConversation(db, 2)),
    );
    const ids = conversations.map((conversation) => conversation.id);
    const countAll = async (): Promise<number> =>
      (await db.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = ANY($1)`, [ids]))[0].n;
    await sendBodies(
      sqs,
      queues.messages,
      Array.from({ length: total }, (_, index) => messageBody(conversations[index % conversations.length])),
      16,
    );
    const ports = await Promise.all(Array.from({ length: processes }, () => freePort()));
    const children = ports.map((port) =>
      spawn(process.execPath, workerArgs, {
        cwd: join(__dirname, '..', '..'),
        env: {
          ...process.env,
          ...queueEnv(queues, { WORKER_RECEIVE_LOOPS: String(loops), WORKER_WAIT_TIME_SECONDS: '1' }),
          WORKER_METRICS_PORT: String(port),
          LOG_LEVEL: 'warn',
          NODE_NO_WARNINGS: '1',
        },
        stdio: 'ignore',
      }),
    );
    for (const child of children) if (child.pid) ownWorkers.add(child.pid);
    try {
      // Start the clock at the first stored message: excludes ts-node start-up.
      await eventually(async () => (await countAll()) > 0, 60_000, 'first message');
      const before = snapshot();
      const started = Date.now();
      const first = await countAll();
      await eventually(async () => (await countAll()) === total, 300_000, 'all stored');
      const windowSeconds = Math.max((Date.now() - started) / 1000, 0.001);
      const after = snapshot();
      const cpu = Object.fromEntries(
        Object.keys(GROUPS).map((name) => [
          name,
          Number(((after as never)[name] - (before as never)[name]) / windowSeconds).toFixed(2),
        ]),
      );
      let messages = total - first;
      let seconds = windowSeconds;
      if (messages === 0) {
        // A small queue can be drained between two looks: the rows' own store times give the span then.
        const [{ span }] = await db.query(
          `SELECT extract(epoch FROM max(stored_at) - min(stored_at))::float AS span FROM messages
           WHERE conversation_id = ANY($1)`,
          [ids],
        );
        messages = total - 1;
        seconds = Math.max(Number(span), 0.001);
      }
      const batchMs = await meanMs(ports[0], 'cyphr_worker_batch_duration_seconds', '{queue="messages"}');
      return {
        queue: fifo ? 'fifo' : 'standard',
        conversations: conversations.length,
        processes,
        loops,
        messages,
        seconds: Number(seconds.toFixed(3)),
        perSecond: Math.round(messages / seconds),
        meanBatchMs: batchMs,
        cpuCoresBusy: cpu,
      };
    } finally {
      for (const child of children) {
        child.kill('SIGTERM');
        if (child.pid) ownWorkers.delete(child.pid);
      }
    }
  } finally {
    await queues.remove();
    await db.destroy();
    sqs.destroy();
  }
}

export async function sqsOnly(total: number, loops: number): Promise<Record<string, unknown>> {
  const sqs = testSqs();
  const queues = await createTestQueues(sqs, { visibilityTimeout: 30 });
  try {
    await sendBodies(
      sqs,
      queues.messages,
      Array.from({ length: total }, (_, index) => `{"n":${index}}`),
      16,
    );
    let done = 0;
    const pool = new ConsumerPool({
      name: 'bench',
      sqs,
      queueUrl: queues.messages,
      loops,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: 30,
      logger: createLogger('silent'),
      metrics: new WorkerMetrics({ defaultMetrics: false }),
      handler: async (messages) => ((done += messages.length), { ack: messages, retry: [] }),
    });
    const started = Date.now();
    pool.start();
    await eventually(async () => done >= total, 300_000, 'all received');
    const seconds = (Date.now() - started) / 1000;
    await pool.stop(5_000);
    return { mode: 'sqs-only', loops, perSecond: Math.round(total / seconds) };
  } finally {
    await queues.remove();
    sqs.destroy();
  }
}

export async function dbOnly(total: number, loops: number): Promise<Record<string, unknown>> {
  const db = await openDatabase();
  try {
    const conversation = await createConversation(db, 2);
    const store = new MessageStore(db);
    const batches = Array.from({ length: Math.ceil(total / 10) }, () =>
      Array.from({ length: 10 }, () => messageBody(conversation)),
    );
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: loops }, async () => {
        while (next < batches.length) await store.storeBatch(batches[next++]);
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    return {
      mode: 'db-only',
      loops,
      perSecond: Math.round(total / seconds),
      commitsPerSecond: Math.round(batches.length / seconds),
    };
  } finally {
    await db.destroy();
  }
}

async function main(): Promise<void> {
  loadLocalEnvFile();
  const total = Number(process.argv[2] ?? 5000);
  const loopCounts = (process.argv[3] ?? '1,4,8,16').split(',').map(Number);
  const processes = Number(process.argv[4] ?? 1);
  const shape = { conversations: Number(process.argv[5] ?? 100), fifo: (process.argv[6] ?? 'fifo') === 'fifo' };
  for (const loops of loopCounts)
    console.log(JSON.stringify(await drain(total, loops, processes, TS_NODE_WORKER, shape)));
  if (processes > 1) return; // the ceilings do not depend on the worker count
  for (const loops of loopCounts) console.log(JSON.stringify(await sqsOnly(total, loops)));
  for (const loops of loopCounts) console.log(JSON.stringify(await dbOnly(total, loops)));
}

// bench/ imports the measurements; run directly, this prints them.
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
