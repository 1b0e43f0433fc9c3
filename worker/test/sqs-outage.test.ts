import { SQSClient } from '@aws-sdk/client-sqs';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { createSqsClient } from '../../common/aws/sqs-client';
import { createWorker, Worker } from '../worker';
import {
  countStored,
  createConversation,
  createTestQueues,
  eventually,
  messageBody,
  openDatabase,
  queueEnv,
  sendBodies,
  workerEnv,
} from './helpers';
import { freePort } from '../../scripts/testing/waiting';

const ROOT = join(__dirname, '..', '..');

/** A private SQS server (the same fauxqs the local services run) that this test can stop and start. */
class PrivateSqsServer {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.child = spawn(process.execPath, ['scripts/services/sqs-server.mjs', String(this.port)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) =>
      this.child!.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve()),
    );
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** The stack's shape (FIFO messages queue), under fixed names: created again, they have the same URLs. */
const createQueues = (sqs: SQSClient) =>
  createTestQueues(sqs, { visibilityTimeout: 30, maxReceiveCount: 5, prefix: 'outage' });

describe('worker during an SQS outage (private SQS server)', () => {
  let server: PrivateSqsServer;
  let sqs: SQSClient;
  let db: DataSource;
  let worker: Worker | undefined;

  beforeAll(async () => {
    server = new PrivateSqsServer(await freePort());
    await server.start();
    db = await openDatabase();
  });
  afterAll(async () => {
    await worker?.stop();
    await server.kill();
    await db.destroy();
    sqs?.destroy();
  });

  it('keeps running, backs off and logs sparingly while SQS is down, and resumes when it is back', async () => {
    const endpoint = `http://127.0.0.1:${server.port}`;
    sqs = createSqsClient({ AWS_REGION: 'us-east-1', SQS_ENDPOINT: endpoint });
    const queues = await createQueues(sqs);
    const lines: Array<{ msg: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const env = workerEnv({
      ...queueEnv(queues, { WORKER_RECEIVE_LOOPS: '4', WORKER_NOTIFICATION_LOOPS: '1' }),
      SQS_ENDPOINT: endpoint,
      AWS_REGION: 'us-east-1',
    });
    worker = await createWorker(env, pino({ level: 'error' }, sink));
    worker.start();

    await server.kill();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    // 5 loops, each failing repeatedly: one line per loop for the outage's first 10 s, not one per attempt.
    const errors = lines.filter((line) => line.msg === 'queue error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThanOrEqual(5);

    await server.start();
    await createQueues(sqs); // the emulator keeps queues in memory
    const conversation = await createConversation(db, 2);
    await sendBodies(sqs, queues.messages, [messageBody(conversation), messageBody(conversation)]);
    await eventually(async () => (await countStored(db, conversation.id)) === 2, 30_000, 'stored after the outage');
  }, 60_000);
});
