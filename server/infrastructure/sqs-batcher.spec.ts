import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { QueueSendError, SqsBatcher } from './sqs-batcher';

type Entry = { Id: string; MessageBody: string };

function fakeClient(
  answer: (entries: Entry[]) => { Successful?: { Id: string }[]; Failed?: { Id: string; Code?: string }[] } | Error,
) {
  const calls: Entry[][] = [];
  const client = {
    send: jest.fn(async (command: SendMessageBatchCommand) => {
      const entries = command.input.Entries as Entry[];
      calls.push(entries);
      const result = answer(entries);
      if (result instanceof Error) throw result;
      return result;
    }),
  };
  return { client: client as never, calls };
}

const allOk = (entries: Entry[]) => ({ Successful: entries.map((entry) => ({ Id: entry.Id })) });

describe('SqsBatcher', () => {
  it('sends ten concurrent messages in one batch call', async () => {
    const { client, calls } = fakeClient(allOk);
    const batcher = new SqsBatcher({ client, queueUrl: 'q', maxDelayMs: 1_000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.send(`m${i}`)));
    expect(calls).toHaveLength(1);
    expect(calls[0].map((entry) => entry.MessageBody)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });

  it('on a FIFO queue sends each entry with its group and deduplication id, in call order', async () => {
    const { client, calls } = fakeClient(allOk);
    const batcher = new SqsBatcher({ client, queueUrl: 'http://sqs/1/cyphr-messages.fifo', maxDelayMs: 5 });
    await Promise.all([
      batcher.send('first', { groupId: 'c1', deduplicationId: 'm1' }),
      batcher.send('second', { groupId: 'c1', deduplicationId: 'm2' }),
    ]);
    expect(calls).toEqual([
      [
        { Id: expect.any(String), MessageBody: 'first', MessageGroupId: 'c1', MessageDeduplicationId: 'm1' },
        { Id: expect.any(String), MessageBody: 'second', MessageGroupId: 'c1', MessageDeduplicationId: 'm2' },
      ],
    ]);
  });

  it('refuses a message without FIFO ids on a FIFO queue', async () => {
    const { client, calls } = fakeClient(allOk);
    const batcher = new SqsBatcher({ client, queueUrl: 'http://sqs/1/cyphr-messages.fifo', maxDelayMs: 5 });
    await expect(batcher.send('no group')).rejects.toThrow(QueueSendError);
    expect(calls).toHaveLength(0);
  });

  it('sends a lone message after the delay', async () => {
    const { client, calls } = fakeClient(allOk);
    const batcher = new SqsBatcher({ client, queueUrl: 'q', maxDelayMs: 5 });
    await batcher.send('alone');
    expect(calls).toEqual([[{ Id: expect.any(String), MessageBody: 'alone' }]]);
  });

  it('lingers up to maxLingerMs while sends keep coming, and only then', async () => {
    const steady = async (batcher: SqsBatcher, count: number, gapMs: number) => {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        sends.push(batcher.send(`m${i}`));
        await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      await Promise.all(sends);
    };
    const lingering = fakeClient(allOk);
    await steady(new SqsBatcher({ client: lingering.client, queueUrl: 'q', maxDelayMs: 2, maxLingerMs: 60 }), 60, 5);
    const eager = fakeClient(allOk);
    await steady(new SqsBatcher({ client: eager.client, queueUrl: 'q', maxDelayMs: 2 }), 60, 5);
    // Every 5 ms: a 2 ms delay sends each alone, a linger of up to 60 ms gathers several.
    expect(eager.calls.length).toBeGreaterThan(45);
    expect(lingering.calls.length).toBeLessThan(25);

    // A lone send after a quiet spell is not held for the linger.
    const quiet = fakeClient(allOk);
    const batcher = new SqsBatcher({ client: quiet.client, queueUrl: 'q', maxDelayMs: 2, maxLingerMs: 500 });
    const started = Date.now();
    await batcher.send('alone');
    expect(Date.now() - started).toBeLessThan(250);
  });

  it('splits batches that would exceed 256 KiB', async () => {
    const { client, calls } = fakeClient(allOk);
    const batcher = new SqsBatcher({ client, queueUrl: 'q', maxDelayMs: 5 });
    const big = 'x'.repeat(100 * 1024);
    await Promise.all([batcher.send(big), batcher.send(big), batcher.send(big)]);
    expect(calls.map((batch) => batch.length)).toEqual([2, 1]);
  });

  it('rejects only the entries SQS failed', async () => {
    const { client } = fakeClient((entries) => ({
      Successful: [{ Id: entries[0].Id }],
      Failed: [{ Id: entries[1].Id, Code: 'InternalError' }],
    }));
    const batcher = new SqsBatcher({ client, queueUrl: 'q', maxDelayMs: 5 });
    const results = await Promise.allSettled([batcher.send('a'), batcher.send('b')]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1]).toMatchObject({ status: 'rejected', reason: expect.any(QueueSendError) });
  });

  it('rejects the whole batch when the call fails', async () => {
    const { client } = fakeClient(() => new Error('connection refused'));
    const batcher = new SqsBatcher({ client, queueUrl: 'q', maxDelayMs: 5 });
    await expect(batcher.send('a')).rejects.toThrow('connection refused');
  });

  it('flushes pending messages on close and refuses new ones', async () => {
    const { client, calls } = fakeClient(allOk);
    const batcher = new SqsBatcher({ client, queueUrl: 'q', maxDelayMs: 60_000 });
    const sent = batcher.send('pending');
    await batcher.close();
    await expect(sent).resolves.toBeUndefined();
    expect(calls).toHaveLength(1);
    await expect(batcher.send('late')).rejects.toThrow('shutting down');
  });
});
