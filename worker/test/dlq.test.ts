import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { main as dlqCli } from '../dlq/cli';
import { listDeadLetters, purgeDeadLetters, replayDeadLetters } from '../dlq/dlq-tool';
import { CyphrAttributes } from '../queue/attributes';
import { createTestQueues, eventually, fifoFields, queueDepth, receiveAll, TestQueues, testSqs } from './helpers';

/** Puts a message in the DLQ the way the worker does for a malformed body. */
async function rejectDirectly(sqs: SQSClient, queues: TestQueues, body: string, reason: string): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queues.dlq,
      MessageBody: body,
      ...fifoFields(queues.dlq, body),
      MessageAttributes: {
        [CyphrAttributes.rejectReason]: { DataType: 'String', StringValue: reason },
        [CyphrAttributes.sourceQueue]: { DataType: 'String', StringValue: queues.messages },
      },
    }),
  );
}

/** Fails a message maxReceiveCount times on the source queue, so the redrive policy moves it. */
async function redrive(sqs: SQSClient, queues: TestQueues, body: string): Promise<void> {
  const before = await queueDepth(sqs, queues.dlq);
  await sqs.send(
    new SendMessageCommand({ QueueUrl: queues.messages, MessageBody: body, ...fifoFields(queues.messages, body) }),
  );
  await eventually(
    async () => {
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queues.messages,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 0,
          WaitTimeSeconds: 0,
        }),
      );
      return (await queueDepth(sqs, queues.dlq)) > before;
    },
    10_000,
    'redrive to the DLQ',
  );
}

describe('DLQ tool: list, replay, purge (real SQS server)', () => {
  let sqs: SQSClient;
  let queues: TestQueues;

  beforeAll(() => {
    sqs = testSqs();
  });
  beforeEach(async () => {
    queues = await createTestQueues(sqs, { maxReceiveCount: 2 });
  });
  afterEach(async () => queues.remove());
  afterAll(() => sqs.destroy());

  it('lists dead letters with receives, age, source and reason, without content, and leaves them in place', async () => {
    const id = randomUUID();
    await rejectDirectly(sqs, queues, JSON.stringify({ v: 9, id, ciphertext: 'c2VjcmV0' }), 'unknown body version 9');
    await redrive(sqs, queues, 'not json');
    const letters = await listDeadLetters(sqs, queues.dlq, 10);
    expect(letters).toHaveLength(2);
    const rejected = letters.find((letter) => letter.reason)!;
    expect(rejected).toMatchObject({
      reason: 'unknown body version 9',
      source: queues.messages,
      summary: { v: 9, id },
      receives: 1,
    });
    expect(rejected.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(letters)).not.toContain('c2VjcmV0');
    const redriven = letters.find((letter) => !letter.reason)!;
    expect(redriven.receives).toBeGreaterThanOrEqual(3); // 2 failed attempts on the source queue, then the move
    expect(redriven.summary).toEqual({ unparseable: 'not JSON' });
    // Still there, visible again.
    expect(await listDeadLetters(sqs, queues.dlq, 10)).toHaveLength(2);
  });

  it('replays to the recorded source queue; keeps what has no known source unless --to names one', async () => {
    const body = JSON.stringify({ v: 1, id: randomUUID() });
    await rejectDirectly(sqs, queues, body, 'missing fields');
    await redrive(sqs, queues, 'orphan');

    const first = await replayDeadLetters(sqs, queues.dlq, { limit: 10 });
    expect(first.replayed).toEqual([{ messageId: expect.any(String), to: queues.messages }]);
    expect(first.skipped).toEqual([{ messageId: expect.any(String), reason: 'source queue unknown: pass --to' }]);
    const back = await receiveAll(sqs, queues.messages);
    expect(back.map((message) => message.Body)).toEqual([body]);
    expect(back[0].MessageAttributes?.[CyphrAttributes.replays]?.StringValue).toBe('1');
    expect(back[0].MessageAttributes?.[CyphrAttributes.rejectReason]).toBeUndefined();

    const second = await replayDeadLetters(sqs, queues.dlq, { limit: 10, to: queues.notifications });
    expect(second.replayed).toEqual([{ messageId: expect.any(String), to: queues.notifications }]);
    expect((await receiveAll(sqs, queues.notifications)).map((message) => message.Body)).toEqual(['orphan']);
    expect(await queueDepth(sqs, queues.dlq)).toBe(0);
  });

  it('replays to a recorded source only on the DLQ’s own endpoint and account', async () => {
    const dlq = new URL(queues.dlq);
    const elsewhere = [
      'http://attacker.example:8080/000000000000/cyphr-messages.fifo',
      `${dlq.origin}/999999999999/cyphr-messages.fifo`,
    ];
    for (const source of elsewhere) {
      const body = JSON.stringify({ v: 1, id: randomUUID() });
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.dlq,
          MessageBody: body,
          ...fifoFields(queues.dlq, body),
          MessageAttributes: { [CyphrAttributes.sourceQueue]: { DataType: 'String', StringValue: source } },
        }),
      );
    }
    const result = await replayDeadLetters(sqs, queues.dlq, { limit: 10 });
    expect(result.replayed).toEqual([]);
    expect(result.skipped.map((skip) => skip.reason).sort()).toEqual(
      elsewhere.map((source) => `source queue ${source} is not on the DLQ's endpoint and account: pass --to`).sort(),
    );
    expect(await listDeadLetters(sqs, queues.dlq, 10)).toHaveLength(2);
  });

  it('respects --limit, purges by count or entirely', async () => {
    for (let index = 0; index < 5; index++) await rejectDirectly(sqs, queues, `{"n":${index}}`, 'test');
    expect(await listDeadLetters(sqs, queues.dlq, 2)).toHaveLength(2);
    expect(await purgeDeadLetters(sqs, queues.dlq, 2)).toBe(2);
    await eventually(async () => (await queueDepth(sqs, queues.dlq)) === 3, 5_000, 'three left');
    expect(await purgeDeadLetters(sqs, queues.dlq, 'all')).toBe('all');
    await eventually(async () => (await queueDepth(sqs, queues.dlq)) === 0, 5_000, 'empty');
  });

  it('runs as a command: npm run dlq -- list --queue <url> --json', async () => {
    await rejectDirectly(sqs, queues, '{"v":1}', 'id must be a uuid');
    const output: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void output.push(line));
    try {
      await dlqCli(['list', '--queue', queues.dlq, '--json']);
      await dlqCli(['replay', '--queue', queues.dlq, '--limit', '5']);
    } finally {
      log.mockRestore();
    }
    expect(JSON.parse(output[0])).toMatchObject({ reason: 'id must be a uuid', source: queues.messages });
    expect(output[1]).toBe(`dlq: replayed 1 message(s) to ${queues.messages}`);
  });
});
