import { SQSClient } from '@aws-sdk/client-sqs';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  countStored,
  createConversation,
  createTestQueues,
  eventually,
  messageBody,
  openDatabase,
  queueDepth,
  queueEnv,
  sendBodies,
  TestQueues,
  testSqs,
} from './helpers';
import { freePort } from '../../scripts/testing/waiting';

const ROOT = join(__dirname, '..', '..');

/** The worker as its own process, exactly as systemd runs it (but from source). */
class WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private buffer = '';

  static async spawn(env: Record<string, string>): Promise<WorkerProcess> {
    return new WorkerProcess({ ...env, WORKER_METRICS_PORT: String(await freePort()) });
  }

  private constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'worker/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', NODE_NO_WARNINGS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  async started(): Promise<number> {
    const line = await eventually(
      async () => this.lines.find((entry) => entry.msg === 'worker started'),
      30_000,
      'worker started',
    );
    return line.metricsPort as number;
  }

  async metric(port: number, name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : 0;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}

describe('worker process: crash, scale-out and shutdown (real services)', () => {
  let sqs: SQSClient;
  let db: DataSource;
  let queues: TestQueues;
  const running: WorkerProcess[] = [];

  const startWorker = async (overrides: Record<string, string> = {}) => {
    const worker = await WorkerProcess.spawn(queueEnv(queues, { WORKER_RECEIVE_LOOPS: '4', ...overrides }));
    running.push(worker);
    return worker;
  };

  beforeAll(async () => {
    sqs = testSqs();
    db = await openDatabase();
  });
  beforeEach(async () => {
    queues = await createTestQueues(sqs, { visibilityTimeout: 5, maxReceiveCount: 5 });
  });
  afterEach(async () => {
    for (const worker of running.splice(0)) {
      worker.kill('SIGKILL');
      await worker.exited;
    }
    await queues.remove();
  });
  afterAll(async () => {
    await db.destroy();
    sqs.destroy();
  });

  it('SIGKILL mid-stream, then a restart: every message stored exactly once', async () => {
    const conversation = await createConversation(db, 2);
    const bodies = Array.from({ length: 3000 }, () => messageBody(conversation));
    await sendBodies(sqs, queues.messages, bodies);

    const first = await startWorker();
    await first.started();
    await eventually(async () => (await countStored(db, conversation.id)) >= 300, 30_000, '300 stored');
    first.kill('SIGKILL');
    await first.exited;
    const atKill = await countStored(db, conversation.id);
    expect(atKill).toBeLessThan(bodies.length); // it really died mid-stream

    const second = await startWorker();
    await second.started();
    await eventually(async () => (await countStored(db, conversation.id)) === bodies.length, 40_000, 'all stored');
    await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 15_000, 'empty queue');
    const [row] = await db.query(
      `SELECT count(*)::int AS n, count(DISTINCT client_message_id)::int AS distinct_ids FROM messages WHERE conversation_id = $1`,
      [conversation.id],
    );
    expect(row).toEqual({ n: bodies.length, distinct_ids: bodies.length });
  }, 90_000);

  it('two workers on one queue: nothing missed, nothing inserted twice', async () => {
    const conversation = await createConversation(db, 2);
    const bodies = Array.from({ length: 2000 }, () => messageBody(conversation));
    await sendBodies(sqs, queues.messages, bodies);
    const workers = [await startWorker(), await startWorker()];
    const ports = await Promise.all(workers.map((worker) => worker.started()));
    await eventually(async () => (await countStored(db, conversation.id)) === bodies.length, 40_000, 'all stored');
    await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 15_000, 'empty queue');
    const stored = await Promise.all(
      workers.map((worker, index) => worker.metric(ports[index], 'cyphr_worker_messages_stored_total')),
    );
    expect(stored[0] + stored[1]).toBe(bodies.length);
    expect(stored.every((count) => count > 0)).toBe(true);
  }, 90_000);

  it('SIGTERM: stops receiving, finishes in-flight batches, exits 0 in bounded time; a successor completes the rest', async () => {
    const conversation = await createConversation(db, 2);
    const bodies = Array.from({ length: 2000 }, () => messageBody(conversation));
    await sendBodies(sqs, queues.messages, bodies);
    const worker = await startWorker({ WORKER_SHUTDOWN_TIMEOUT_MS: '5000' });
    await worker.started();
    await eventually(async () => (await countStored(db, conversation.id)) >= 200, 30_000, '200 stored');
    const signalledAt = Date.now();
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(5_000 + 4_000);
    expect(worker.lines.some((line) => line.msg === 'stopped')).toBe(true);

    const successor = await startWorker();
    await successor.started();
    await eventually(async () => (await countStored(db, conversation.id)) === bodies.length, 40_000, 'all stored');
  }, 90_000);

  it('SIGTERM while idle: the long poll is abandoned, exit is immediate', async () => {
    const worker = await startWorker({ WORKER_WAIT_TIME_SECONDS: '20' });
    await worker.started();
    await new Promise((resolve) => setTimeout(resolve, 500)); // every loop is inside its 20 s long poll
    const signalledAt = Date.now();
    worker.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(5_000); // far below the 20 s long poll, with room for a loaded machine
  }, 60_000);

  it('refuses to start on invalid configuration, naming every bad variable', async () => {
    const worker = await startWorker({ WORKER_RECEIVE_LOOPS: '0', PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_URL: '' });
    expect(await worker.exited).toEqual({ code: 1, signal: null });
    expect(worker.stderr).toMatch(/WORKER_RECEIVE_LOOPS/);
    expect(worker.stderr).toMatch(/PUSH_WEBHOOK_URL is required when PUSH_PROVIDER=webhook/);
  }, 30_000);
});
