import { Message, SQSClient } from '@aws-sdk/client-sqs';
import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { BatchHandler, ConsumerPool } from '../queue/consumer-pool';
import { DependencyGate } from '../queue/dependency-gate';
import { createTestQueues, eventually, queueDepth, receiveAll, sendBodies, TestQueues, testSqs } from './helpers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ConsumerPool: visibility heartbeat and shutdown release (real SQS server)', () => {
  let sqs: SQSClient;
  let queues: TestQueues;
  const pools: ConsumerPool[] = [];

  const pool = (handler: BatchHandler, visibilityTimeoutSeconds = 3, gate?: DependencyGate) => {
    const created = new ConsumerPool({
      name: 'test',
      sqs,
      queueUrl: queues.messages,
      loops: 1,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds,
      handler,
      logger: createLogger('silent'),
      metrics: new WorkerMetrics({ defaultMetrics: false }),
      gate,
    });
    pools.push(created);
    return created;
  };

  beforeAll(() => {
    sqs = testSqs();
  });
  beforeEach(async () => {
    queues = await createTestQueues(sqs, { visibilityTimeout: 3 });
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((created) => created.stop(1_000)));
    await queues.remove();
  });
  afterAll(() => sqs.destroy());

  it('keeps a batch hidden while its handler works past the visibility timeout, then deletes it', async () => {
    const slowSeen: string[] = [];
    const otherSeen: string[] = [];
    pool(async (messages) => {
      slowSeen.push(...messages.map((message) => message.Body!));
      await sleep(7_000); // more than twice the 3 s visibility timeout
      return { ack: messages, retry: [] };
    }).start();
    await sendBodies(sqs, queues.messages, ['slow']);
    await eventually(async () => slowSeen.length > 0, 5_000, 'slow handler started');
    pool(async (messages) => {
      otherSeen.push(...messages.map((message) => message.Body!));
      return { ack: messages, retry: [] };
    }).start();
    await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 15_000, 'deleted');
    expect(slowSeen).toEqual(['slow']);
    expect(otherSeen).toEqual([]);
  }, 30_000);

  it('deletes only what the handler acknowledged and hands the rest back after its delay', async () => {
    const seen: string[] = [];
    pool(async (messages) => {
      seen.push(...messages.map((message) => message.Body!));
      return {
        ack: messages.filter((message) => message.Body !== 'again'),
        retry: messages.filter((message) => message.Body === 'again').map((message) => ({ message, delaySeconds: 1 })),
      };
    }).start();
    await sendBodies(sqs, queues.messages, ['once', 'again']);
    await eventually(async () => seen.filter((body) => body === 'again').length >= 2, 10_000, 'a retry');
    expect(seen.filter((body) => body === 'once')).toEqual(['once']);
  }, 30_000);

  it('at a stop that times out, releases the unfinished batch at once (visibility 0) instead of waiting out its timeout', async () => {
    const stuck = pool(async (messages: Message[]) => {
      await sleep(20_000);
      return { ack: messages, retry: [] };
    }, 30);
    stuck.start();
    await sendBodies(sqs, queues.messages, ['stuck']);
    await eventually(
      async () => (await queueDepth(sqs, queues.messages)) === 1 && (await sleep(500), true),
      5_000,
      'received',
    );
    const stoppedAt = Date.now();
    await stuck.stop(1_000);
    expect(Date.now() - stoppedAt).toBeLessThan(3_000);
    const successor: string[] = [];
    pool(async (messages) => {
      successor.push(...messages.map((message) => message.Body!));
      return { ack: messages, retry: [] };
    }).start();
    // Visibility was 30 s: seeing it within a few seconds proves the release.
    await eventually(async () => successor.includes('stuck'), 5_000, 'released message picked up');
  }, 40_000);

  describe('paused on an unreachable dependency', () => {
    let answers: boolean;
    let gate: DependencyGate;
    const seen: Array<{ body: string; receives: string }> = [];
    const unavailableUntilAnswered: BatchHandler = async (messages) => {
      seen.push(...messages.map((m) => ({ body: m.Body!, receives: m.Attributes!.ApproximateReceiveCount! })));
      return answers
        ? { ack: messages, retry: [] }
        : { ack: [], retry: [], unavailable: { messages, error: new Error('connect ECONNREFUSED') } };
    };

    beforeEach(() => {
      answers = false;
      seen.length = 0;
      gate = new DependencyGate({
        dependency: 'primary',
        probe: async () => {
          if (!answers) throw new Error('connect ECONNREFUSED');
        },
        maxProbeIntervalMs: 1_000,
        logger: createLogger('silent'),
        metrics: new WorkerMetrics({ defaultMetrics: false }),
      });
    });
    afterEach(() => gate.close());

    it('holds the batch past its visibility timeout without receiving again, then handles it when the probe answers', async () => {
      pool(unavailableUntilAnswered, 2, gate).start();
      await sendBodies(sqs, queues.messages, ['held']);
      await eventually(async () => gate.paused, 5_000, 'paused');
      await sleep(5_000); // two and a half visibility timeouts: the heartbeat keeps it hidden, nothing is received
      expect(seen).toEqual([{ body: 'held', receives: '1' }]);
      answers = true;
      await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 5_000, 'deleted after resuming');
      // Handled again from the same receive: its receive count never grew.
      expect(seen).toEqual([
        { body: 'held', receives: '1' },
        { body: 'held', receives: '1' },
      ]);
      expect(gate.paused).toBe(false);
    }, 30_000);

    it('releases what it holds at once when stopped while paused', async () => {
      const paused = pool(unavailableUntilAnswered, 30, gate);
      paused.start();
      await sendBodies(sqs, queues.messages, ['held']);
      await eventually(async () => gate.paused, 5_000, 'paused');
      const stoppedAt = Date.now();
      await paused.stop(10_000);
      expect(Date.now() - stoppedAt).toBeLessThan(3_000);
      // Visibility was 30 s: receiving it now proves the release.
      const [released] = await receiveAll(sqs, queues.messages);
      expect(released.Body).toBe('held');
      expect(released.Attributes?.ApproximateReceiveCount).toBe('2');
    }, 30_000);
  });
});
