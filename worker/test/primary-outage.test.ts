import { SQSClient } from '@aws-sdk/client-sqs';
import { DataSource } from 'typeorm';
import { LocalPrimary } from '../../scripts/testing/local-primary';
import { freePort, sleep } from '../../scripts/testing/waiting';
import { createLogger } from '../observability/logger';
import { createWorker, Worker } from '../worker';
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
  workerEnv,
} from './helpers';

// The retry budget of the test queue: 2 receives x 3 s visibility. The primary stays down for three times that.
const VISIBILITY_SECONDS = 3;
const MAX_RECEIVE_COUNT = 2;
const OUTAGE_MS = 3 * MAX_RECEIVE_COUNT * VISIBILITY_SECONDS * 1000;

async function readiness(port: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: response.status, body: await response.json() };
}

describe('worker while the primary is down (local PostgreSQL stopped)', () => {
  const primary = new LocalPrimary();
  let sqs: SQSClient;
  let queues: TestQueues;
  let db: DataSource;
  let worker: Worker | undefined;

  beforeAll(async () => {
    sqs = testSqs();
    db = await openDatabase();
    queues = await createTestQueues(sqs, { visibilityTimeout: VISIBILITY_SECONDS, maxReceiveCount: MAX_RECEIVE_COUNT });
  });
  afterAll(async () => {
    await primary.start().catch(() => undefined); // already running unless the test failed mid-outage
    await worker?.stop();
    await queues.remove();
    await db.destroy();
    sqs.destroy();
  });

  it('pauses instead of spending the retry budget, and stores every accepted message once when it returns', async () => {
    const metricsPort = await freePort();
    const env = workerEnv(
      queueEnv(queues, {
        WORKER_VISIBILITY_TIMEOUT_SECONDS: String(VISIBILITY_SECONDS),
        WORKER_RECEIVE_LOOPS: '4',
        WORKER_PRIMARY_PROBE_MAX_SECONDS: '2',
        WORKER_METRICS_PORT: String(metricsPort),
      }),
    );
    worker = await createWorker(env, createLogger('silent'));
    worker.start();
    const conversation = await createConversation(db, 2);
    await sendBodies(sqs, queues.messages, [messageBody(conversation)]);
    await eventually(async () => (await countStored(db, conversation.id)) === 1, 10_000, 'stored before the outage');
    expect(await readiness(metricsPort)).toEqual({ status: 200, body: { status: 'ready' } });

    await primary.stop();
    const started = Date.now();
    const bodies = Array.from({ length: 30 }, () => messageBody(conversation));
    await sendBodies(sqs, queues.messages, bodies);
    await eventually(async () => !worker!.ready, 15_000, 'paused');
    expect(await readiness(metricsPort)).toEqual({ status: 503, body: { status: 'paused', waitingFor: 'primary' } });
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - started)));
    // Still nothing in the DLQ after three retry budgets: held messages kept their receive counts.
    expect(await queueDepth(sqs, queues.dlq)).toBe(0);
    await primary.start();

    await eventually(
      async () => (await countStored(db, conversation.id)) === 1 + bodies.length,
      20_000,
      'stored after',
    );
    await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 10_000, 'queue drained');
    expect(worker.ready).toBe(true);
    expect(await readiness(metricsPort)).toEqual({ status: 200, body: { status: 'ready' } });
    expect(await queueDepth(sqs, queues.dlq)).toBe(0);
    const ids = bodies.map((body) => body.id);
    const [{ n }] = await db.query(`SELECT count(DISTINCT id)::int AS n FROM messages WHERE id = ANY($1::uuid[])`, [
      ids,
    ]);
    expect(n).toBe(bodies.length);
    const pauses = (await worker.metrics.pauses.get()).values;
    expect(pauses).toEqual([expect.objectContaining({ labels: { dependency: 'primary' }, value: 1 })]);
  }, 60_000);
});
