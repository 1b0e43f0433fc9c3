import 'reflect-metadata';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadLocalEnvFile } from '../../common/config/local-env-file';
import { freePort } from '../../scripts/testing/waiting';
import {
  addDevice,
  Conversation,
  createConversation,
  createTestQueues,
  eventually,
  messageBody,
  openDatabase,
  queueEnv,
  testPushToken,
  testSqs,
} from '../test/helpers';

/**
 * The worker alone at a moderate, steady load: `rate` messages per second offered straight to a private FIFO
 * queue by `senders` open loops over `conversations` one-to-one conversations, whose recipients have a push token
 * and no socket, so every stored message also queues a notification that the worker's notification consumer
 * sends through the webhook provider to a sink in this process. LOG_LEVEL=info, NODE_ENV=production, the
 * stack's long polls (20 s). Reports worker CPU ms per stored message from /proc, the messages per received
 * batch, and send → stored latency (the worker's share of end-to-end latency).
 *
 *   npx ts-node --transpile-only worker/bench/moderate-rate.ts [rate=320] [seconds=20] [senders=32]
 *     [conversations=20] [profileDir]
 *
 * The worker runs from the compiled build (.local/bench/build, as bench/ builds it): ts-node's hooks would be
 * measured too. With `profileDir` the worker runs under --cpu-prof (worker/bench/profile-summary.ts reads it).
 */
const TICKS = 100; // getconf CLK_TCK on Linux
const ROOT = join(__dirname, '..', '..');
/** BENCH_WORKER_BUILD: another build to compare against (e.g. one of main). */
const WORKER = join(process.env.BENCH_WORKER_BUILD ?? join(ROOT, '.local', 'bench', 'build'), 'worker', 'main.js');

const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
};

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
};

/** Prometheus counter/histogram values summed over label sets matching `filter`. */
async function metric(port: number, name: string, filter = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name) && line.includes(filter) && !line.startsWith('#'))
    .filter((line) => line.split(/[ {]/)[0] === name)
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

function pushSink(): Promise<{ server: Server; port: number; count: () => number }> {
  let received = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as AddressInfo).port, count: () => received }),
    ),
  );
}

export interface ModerateOptions {
  rate?: number;
  seconds?: number;
  senders?: number;
  conversations?: number;
  warmupSeconds?: number;
  profileDir?: string;
  env?: Record<string, string>;
}

export async function moderate(options: ModerateOptions = {}): Promise<Record<string, unknown>> {
  const rate = options.rate ?? 320;
  const seconds = options.seconds ?? 20;
  const senders = options.senders ?? 32;
  const warmup = options.warmupSeconds ?? 5;
  const sqs = testSqs();
  const db = await openDatabase();
  const sink = await pushSink();
  const queues = await createTestQueues(sqs, { visibilityTimeout: 30, maxReceiveCount: 5 });
  let worker: ChildProcess | undefined;
  try {
    const conversations: Conversation[] = [];
    for (let index = 0; index < (options.conversations ?? 20); index++) {
      const conversation = await createConversation(db, 2);
      await addDevice(db, conversation.memberIds[0], 1);
      // MODERATE_NO_PUSH=1: recipients without a push token (what the notification path costs, by difference).
      await addDevice(db, conversation.memberIds[1], 1, process.env.MODERATE_NO_PUSH ? undefined : testPushToken());
      conversations.push(conversation);
    }
    const ids = conversations.map(({ id }) => id);
    const metricsPort = await freePort();
    worker = spawn(
      process.execPath,
      [...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []), WORKER],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...queueEnv(queues, {
            WORKER_RECEIVE_LOOPS: '8',
            WORKER_NOTIFICATION_LOOPS: '2',
            WORKER_WAIT_TIME_SECONDS: '20',
            WORKER_VISIBILITY_TIMEOUT_SECONDS: '30',
          }),
          WORKER_METRICS_PORT: String(metricsPort),
          LOG_LEVEL: 'info',
          NODE_ENV: 'production',
          PUSH_PROVIDER: 'webhook',
          PUSH_WEBHOOK_URL: `http://127.0.0.1:${sink.port}/push`,
          PUSH_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
          NODE_NO_WARNINGS: '1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...options.env,
        },
        // MODERATE_WORKER_LOG=<file>: keep the worker's log lines (what it writes at info under load).
        stdio: [
          'ignore',
          process.env.MODERATE_WORKER_LOG ? openSync(process.env.MODERATE_WORKER_LOG, 'w') : 'ignore',
          'inherit',
        ],
      },
    );
    const pid = worker.pid!;
    await eventually(() => metric(metricsPort, 'cyphr_worker_messages_stored_total').catch(() => false), 60_000);

    let sending = true;
    let offered = 0;
    const interval = (senders * 1000) / rate;
    const loops = Array.from({ length: senders }, async (_, sender) => {
      const conversation = conversations[sender % conversations.length];
      let due = performance.now() + Math.random() * interval;
      while (sending) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        due += interval;
        const body = JSON.stringify(messageBody(conversation));
        offered++;
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: queues.messages,
            MessageBody: body,
            MessageGroupId: conversation.id,
            MessageDeduplicationId: randomBytes(16).toString('hex'),
          }),
        );
      }
    });
    await new Promise((resolve) => setTimeout(resolve, warmup * 1000));

    const count = async () =>
      (await db.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = ANY($1)`, [ids]))[0].n as number;
    const batches = () => metric(metricsPort, 'cyphr_worker_batch_duration_seconds_count', 'queue="messages"');
    const notifyBatches = () =>
      metric(metricsPort, 'cyphr_worker_batch_duration_seconds_count', 'queue="notifications"');
    const snapshot = async () => ({
      cpu: cpuSeconds(pid),
      stored: await count(),
      batches: await batches(),
      notify: await notifyBatches(),
      pushes: sink.count(),
      at: Date.now(),
    });
    const before = await snapshot();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = await snapshot();
    const window = (after.at - before.at) / 1000;
    const latencies = (
      (await db.query(
        `SELECT extract(epoch FROM stored_at - sent_at) * 1000 AS ms FROM messages
          WHERE conversation_id = ANY($1) AND stored_at > now() - make_interval(secs => $2)`,
        [ids, seconds],
      )) as Array<{ ms: string }>
    ).map(({ ms }) => Number(ms));
    sending = false;
    await Promise.all(loops);
    const stored = after.stored - before.stored;
    return {
      offeredPerSecond: rate,
      offered,
      storedPerSecond: Math.round(stored / window),
      pushesPerSecond: Math.round((after.pushes - before.pushes) / window),
      messagesPerBatch: Number((stored / Math.max(1, after.batches - before.batches)).toFixed(2)),
      pushesPerNotificationBatch: Number(
        ((after.pushes - before.pushes) / Math.max(1, after.notify - before.notify)).toFixed(2),
      ),
      workerCpuCores: Number(((after.cpu - before.cpu) / window).toFixed(3)),
      workerCpuMsPerStored: Number((((after.cpu - before.cpu) * 1000) / Math.max(1, stored)).toFixed(3)),
      sendToStoredMs: {
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        max: percentile(latencies, 100),
      },
    };
  } finally {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    sink.server.close();
    await queues.remove();
    await db.destroy();
    sqs.destroy();
  }
}

async function main(): Promise<void> {
  loadLocalEnvFile();
  const [rate, seconds, senders, conversations] = process.argv
    .slice(2, 6)
    .map((value) => (value ? Number(value) : undefined));
  const profileDir = process.argv[6];
  const env: Record<string, string> = process.env.MODERATE_WORKER_NODE_OPTIONS
    ? { NODE_OPTIONS: process.env.MODERATE_WORKER_NODE_OPTIONS }
    : {};
  console.log(JSON.stringify(await moderate({ rate, seconds, senders, conversations, profileDir, env })));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
