import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes, randomUUID } from 'node:crypto';
import { messageIdFor } from '../../common/contracts/message-id';
import {
  call,
  login,
  conversationOf,
  register,
  replicaCaughtUp,
  startServer,
  TestSocket,
  TestUser,
} from '../../server/test/helpers';
import type { ServerApp } from '../../server/bootstrap';
import { createLogger } from '../observability/logger';
import { createWorker, Worker } from '../worker';
import {
  createTestQueues,
  eventually,
  queueEnv,
  RecordingPushProvider,
  TestQueues,
  testSqs,
  workerEnv,
} from './helpers';

/**
 * The whole path: HTTP send on API instance A → SQS → worker → PostgreSQL → Redis → WebSocket on API
 * instance B, and history from the replica. Two API instances, one worker, private queues.
 */
describe('end to end: server → SQS → worker → PostgreSQL → Redis → WebSocket (real services)', () => {
  let sqs: SQSClient;
  let queues: TestQueues;
  let servers: ServerApp[];
  let worker: Worker;
  let pushes: RecordingPushProvider;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    sqs = testSqs();
    queues = await createTestQueues(sqs, { visibilityTimeout: 10, maxReceiveCount: 5 });
    const env = { SQS_MESSAGES_QUEUE_URL: queues.messages, SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications };
    servers = [await startServer({ env }), await startServer({ env })];
    pushes = new RecordingPushProvider();
    worker = await createWorker(workerEnv(queueEnv(queues)), createLogger('silent'), { pushProvider: pushes });
    worker.start();
    const base = servers[0].url;
    [alice, bob, carol] = await Promise.all([register(base, 'alice'), register(base, 'bob'), register(base, 'carol')]);
    conversationId = await conversationOf(base, alice, [bob, carol]);
  });

  afterAll(async () => {
    await worker?.stop();
    await Promise.all((servers ?? []).map((server) => server.shutdown()));
    await queues?.remove();
    sqs?.destroy();
  });

  it('a message sent over HTTP reaches the online recipient by WebSocket on another instance, history, and a push for the offline one', async () => {
    const bobSocket = await TestSocket.open(servers[1].url, bob.token);
    try {
      const clientMessageId = randomUUID();
      const ciphertext = randomBytes(48).toString('base64');
      // Sent from Alice's second device: events and history name it.
      const laptop = await login(servers[0].url, alice, 'laptop');
      const sent = await call(servers[0].url, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: laptop.token,
        body: { clientMessageId, ciphertext },
      });
      expect(sent.status).toBe(202);
      const id = messageIdFor(alice.id, conversationId, clientMessageId);
      expect(sent.body.id).toBe(id);

      const event = await bobSocket.next(
        (candidate) => candidate.type === 'message' && candidate.message.id === id,
        15_000,
      );
      expect(event.message).toEqual({
        id,
        seq: expect.any(String),
        conversationId,
        senderId: alice.id,
        senderDeviceId: laptop.deviceId,
        clientMessageId,
        ciphertext,
        sentAt: expect.any(String),
        storedAt: expect.any(String),
      });
      expect(laptop.deviceId).toBe(2);

      await replicaCaughtUp();
      const history = await call(servers[1].url, 'GET', `/v1/conversations/${conversationId}/messages?limit=10`, {
        token: bob.token,
      });
      expect(history.status).toBe(200);
      expect(history.body.items.filter((item: { id: string }) => item.id === id)).toEqual([event.message]);

      // Bob is connected (presence in Redis), Carol is not: only Carol gets a push, and it carries no content.
      await eventually(async () => pushes.sent.some((push) => push.messageId === id), 10_000, 'a push for carol');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const forMessage = pushes.sent.filter((push) => push.messageId === id);
      expect(forMessage.map((push) => push.userId)).toEqual([carol.id]);
      expect(JSON.stringify(forMessage)).not.toContain(ciphertext);
    } finally {
      bobSocket.close();
    }
  }, 60_000);

  it('a retried send (same clientMessageId) is stored once; any realtime copy is the same message (same id and seq)', async () => {
    const bobSocket = await TestSocket.open(servers[0].url, bob.token);
    try {
      const clientMessageId = randomUUID();
      const body = { clientMessageId, ciphertext: randomBytes(16).toString('base64') };
      const path = `/v1/conversations/${conversationId}/messages`;
      await call(servers[0].url, 'POST', path, { token: alice.token, body });
      await call(servers[1].url, 'POST', path, { token: alice.token, body });
      const id = messageIdFor(alice.id, conversationId, clientMessageId);
      await bobSocket.next((candidate) => candidate.type === 'message' && candidate.message.id === id, 15_000);
      await replicaCaughtUp();
      const history = await call(servers[0].url, 'GET', `${path}?limit=50`, { token: bob.token });
      expect(history.body.items.filter((item: { id: string }) => item.id === id)).toHaveLength(1);
      // The duplicate delivery is fanned out again (a redelivery after a crash must still reach online users).
      const copies = bobSocket.events.filter(
        (candidate) => candidate.type === 'message' && candidate.message.id === id,
      );
      expect(new Set(copies.map((copy) => JSON.stringify(copy.message))).size).toBe(1);
    } finally {
      bobSocket.close();
    }
  }, 60_000);
});
