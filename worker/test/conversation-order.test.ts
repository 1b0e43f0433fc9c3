import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes, randomUUID } from 'node:crypto';
import { messageIdFor } from '../../common/contracts/message-id';
import type { ServerApp } from '../../server/bootstrap';
import {
  call,
  conversationOf,
  login,
  register,
  replicaCaughtUp,
  startServer,
  TestSocket,
  TestUser,
} from '../../server/test/helpers';
import { createLogger } from '../observability/logger';
import { createWorker, Worker } from '../worker';
import {
  createTestQueues,
  eventually,
  fifoFields,
  queueDepth,
  queueEnv,
  receiveAll,
  TestQueues,
  testSqs,
  workerEnv,
} from './helpers';

/**
 * One order per conversation: two API instances, the worker with eight receive loops, the FIFO messages queue.
 * Back-to-back sends (each after the previous 202, alternating instances) keep their order in history and on a
 * reader's socket; a conversation blocked behind a failing message does not hold up the others.
 */
describe('conversation order: FIFO by conversation, two API instances and the worker (real services)', () => {
  let sqs: SQSClient;
  let queues: TestQueues;
  let servers: ServerApp[];
  let worker: Worker;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    sqs = testSqs();
    queues = await createTestQueues(sqs, { visibilityTimeout: 10, maxReceiveCount: 4 });
    const env = { SQS_MESSAGES_QUEUE_URL: queues.messages, SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications };
    servers = [await startServer({ env }), await startServer({ env })];
    worker = await createWorker(
      workerEnv(queueEnv(queues, { WORKER_RECEIVE_LOOPS: '8', WORKER_RETRY_BASE_SECONDS: '1' })),
      createLogger('silent'),
    );
    worker.start();
    [alice, bob] = await Promise.all([register(servers[0].url, 'alice'), register(servers[0].url, 'bob')]);
  });

  afterAll(async () => {
    await worker?.stop();
    await Promise.all((servers ?? []).map((server) => server.shutdown()));
    await queues?.remove();
    sqs?.destroy();
  });

  /** Sends `count` messages one after another, each after the previous 202, alternating API instances. */
  async function sendBackToBack(sender: TestUser, conversationId: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const clientMessageId = randomUUID();
      const sent = await call(servers[index % 2].url, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: sender.token,
        body: { clientMessageId, ciphertext: randomBytes(24).toString('base64') },
      });
      expect(sent.status).toBe(202);
      ids.push(messageIdFor(sender.id, conversationId, clientMessageId));
    }
    return ids;
  }

  /** The conversation's history, oldest first, read backwards page by page from the replica. */
  async function history(reader: TestUser, conversationId: string): Promise<Array<{ id: string; seq: string }>> {
    await replicaCaughtUp();
    const items: Array<{ id: string; seq: string }> = [];
    let before: string | null = null;
    do {
      const query: string = before ? `limit=100&before=${before}` : 'limit=100';
      const page = await call(servers[1].url, 'GET', `/v1/conversations/${conversationId}/messages?${query}`, {
        token: reader.token,
      });
      expect(page.status).toBe(200);
      items.push(...page.body.items);
      before = page.body.nextCursor;
    } while (before);
    return items.reverse();
  }

  const stored = async (reader: TestUser, conversationId: string) =>
    (await history(reader, conversationId)).map((item) => item.id);

  it('200 back-to-back sends from one device appear in sending order on every device, live and in history', async () => {
    const conversationId = await conversationOf(servers[0].url, alice, [bob]);
    // Bob's phone and laptop, and Alice's own second device, each on a socket (the instances alternate).
    const [bobLaptop, aliceTablet] = [await login(servers[0].url, bob, 'laptop'), await login(servers[0].url, alice)];
    const sockets = [
      await TestSocket.open(servers[1].url, bob.token),
      await TestSocket.open(servers[0].url, bobLaptop.token),
      await TestSocket.open(servers[1].url, aliceTablet.token),
    ];
    try {
      const sent = await sendBackToBack(alice, conversationId, 200);
      const live = (socket: TestSocket) =>
        socket.events.filter((event) => event.type === 'message' && event.message.conversationId === conversationId);
      for (const socket of sockets)
        await eventually(async () => live(socket).length >= 200, 60_000, '200 messages on every socket');
      for (const socket of sockets) expect(live(socket).map((event) => event.message.id)).toEqual(sent);
      const seqs = live(sockets[0]).map((event) => BigInt(event.message.seq));
      expect(seqs.every((seq, index) => index === 0 || seq > seqs[index - 1])).toBe(true);
      expect(live(sockets[1]).every((event) => event.message.senderDeviceId === alice.deviceId)).toBe(true);

      await eventually(async () => (await stored(bob, conversationId)).length === 200, 20_000, 'history complete');
      for (const reader of [bob, bobLaptop]) {
        const items = await history(reader, conversationId);
        expect(items.map((item) => item.id)).toEqual(sent);
        expect(items.map((item) => item.seq)).toEqual(live(sockets[0]).map((event) => event.message.seq));
      }
    } finally {
      sockets.forEach((socket) => socket.close());
    }
  }, 180_000);

  it('senders in different conversations proceed in parallel, each conversation in its own order', async () => {
    const senders = await Promise.all(Array.from({ length: 4 }, () => register(servers[0].url, 'par')));
    const conversations = await Promise.all(senders.map((sender) => conversationOf(servers[0].url, sender, [bob])));
    const sent = await Promise.all(senders.map((sender, index) => sendBackToBack(sender, conversations[index], 40)));
    for (const [index, conversationId] of conversations.entries()) {
      await eventually(async () => (await stored(bob, conversationId)).length === 40, 30_000, 'history complete');
      expect(await stored(bob, conversationId)).toEqual(sent[index]);
    }
  }, 180_000);

  it('a failing message holds back only its own conversation, which resumes in order once it is dead-lettered', async () => {
    const [blocked, free] = [
      await conversationOf(servers[0].url, alice, [bob]),
      await conversationOf(servers[0].url, alice, [bob]),
    ];
    // At the head of `blocked`: a message whose sender does not exist, failing on every attempt.
    const clientMessageId = randomUUID();
    const senderId = randomUUID();
    const poison = JSON.stringify({
      v: 1,
      id: messageIdFor(senderId, blocked, clientMessageId),
      conversationId: blocked,
      senderId,
      clientMessageId,
      ciphertext: 'AAAA',
      sentAt: new Date().toISOString(),
      memberIds: [alice.id, bob.id],
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.messages,
        MessageBody: poison,
        ...fifoFields(queues.messages, poison),
      }),
    );
    const [behind, meanwhile] = await Promise.all([
      sendBackToBack(alice, blocked, 10),
      sendBackToBack(alice, free, 10),
    ]);
    // The other conversation is stored while the blocked one still waits behind its head.
    await eventually(async () => (await stored(bob, free)).length === 10, 15_000, 'the free conversation stored');
    expect(await stored(bob, free)).toEqual(meanwhile);
    expect(await stored(bob, blocked)).toEqual([]);
    // After maxReceiveCount receives the worker moves the head to the DLQ; the rest follows in sending order.
    await eventually(async () => (await stored(bob, blocked)).length === 10, 60_000, 'the blocked conversation');
    expect(await stored(bob, blocked)).toEqual(behind);
    const dead = await receiveAll(sqs, queues.dlq);
    expect(dead.map((message) => message.Body)).toEqual([poison]);
    await eventually(async () => (await queueDepth(sqs, queues.messages)) === 0, 10_000, 'empty queue');
  }, 120_000);
});
