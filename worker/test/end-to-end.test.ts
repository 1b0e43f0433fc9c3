import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes, randomUUID } from 'node:crypto';
import { messageIdFor } from '../../common/contracts/message-id';
import { SecretsManagerStandIn } from '../../scripts/testing/aws/secrets-manager';
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
import type { ServerApp } from '../../server/bootstrap';
import { createLogger } from '../observability/logger';
import { createWorker, Worker } from '../worker';
import { createTestQueues, eventually, queueEnv, TestQueues, testSqs, workerEnv } from './helpers';
import { PushReceiver } from './push-receiver';

const pushToken = () => `e2e-${randomUUID()}`;

/**
 * The whole path: HTTP send on API instance A → SQS → worker → PostgreSQL → Redis → WebSocket on API
 * instance B, and history from the replica. Two API instances, one worker, private queues.
 */
describe('end to end: server → SQS → worker → PostgreSQL → Redis → WebSocket (real services)', () => {
  let sqs: SQSClient;
  let queues: TestQueues;
  let servers: ServerApp[];
  let worker: Worker;
  let secrets: SecretsManagerStandIn;
  let receiver: PushReceiver;
  const saved = { ...process.env };
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    sqs = testSqs();
    queues = await createTestQueues(sqs, { visibilityTimeout: 10, maxReceiveCount: 5 });
    const env = { SQS_MESSAGES_QUEUE_URL: queues.messages, SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications };
    servers = [await startServer({ env }), await startServer({ env })];
    // Pushes as on AWS: the webhook provider, its signing key read by ARN through the Secrets Manager API.
    const signingKey = randomBytes(32).toString('base64');
    secrets = await SecretsManagerStandIn.start();
    const arn = secrets.create('cyphr-test/push-webhook-signing-key', signingKey);
    receiver = await new PushReceiver(signingKey).start();
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDTESTPUSHWEBHOOK';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret';
    delete process.env.AWS_SESSION_TOKEN;
    const push = { PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_URL: receiver.url, PUSH_WEBHOOK_SECRET_ARN: arn };
    worker = await createWorker(workerEnv({ ...queueEnv(queues), ...push }), createLogger('silent'));
    expect(secrets.calls).toEqual([expect.objectContaining({ action: 'GetSecretValue', secretId: arn })]);
    worker.start();
    const base = servers[0].url;
    [alice, bob, carol] = await Promise.all([register(base, 'alice'), register(base, 'bob'), register(base, 'carol')]);
    conversationId = await conversationOf(base, alice, [bob, carol]);
  });

  afterAll(async () => {
    await worker?.stop();
    await receiver?.stop();
    await secrets?.close();
    process.env = saved;
    await Promise.all((servers ?? []).map((server) => server.shutdown()));
    await queues?.remove();
    sqs?.destroy();
  });

  it('a message sent over HTTP reaches the online recipient by WebSocket on another instance, history, and one signed wake-up per offline registered device', async () => {
    // Bob: device 1 online (socket) and registered, device 2 offline and registered, device 3 offline without
    // a token. Carol: device 1 offline and registered.
    const [bobTablet, bobLaptop] = [
      await login(servers[0].url, bob, 'tablet'),
      await login(servers[0].url, bob, 'laptop'),
    ];
    const token = { bobOnline: pushToken(), bobOffline: pushToken(), carol: pushToken() };
    for (const [user, value] of [
      [bob, token.bobOnline],
      [bobTablet, token.bobOffline],
      [carol, token.carol],
    ] as const) {
      const answer = await call(servers[1].url, 'PUT', `/v1/devices/${user.deviceId}/push`, {
        token: user.token,
        body: { provider: 'webhook', token: value },
      });
      expect(answer.status).toBe(204);
    }
    expect(bobLaptop.deviceId).toBe(3);
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

      // Bob's device 1 is connected (presence in Redis): only the two offline registered devices are woken,
      // once each, with a signed wake-up that names no sender and carries no content.
      const tokens = Object.values(token);
      await eventually(async () => receiver.to(tokens).length >= 2, 10_000, 'two pushes');
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for any wrong extra push to show up
      const received = receiver.to(tokens);
      expect(received.map((push) => push.body.token).sort()).toEqual([token.bobOffline, token.carol].sort());
      for (const push of received) {
        expect(push.verified).toBe(true);
        expect(push.body).toEqual({ type: 'wake', provider: 'webhook', token: push.body.token, conversationId });
      }
      expect(JSON.stringify(received)).not.toContain(ciphertext);
      expect(JSON.stringify(received)).not.toContain(alice.id);
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

  it('push registration: clear 400s for a bad provider or token, 404 for a device that is not the caller’s, DELETE stops the pushes', async () => {
    const base = servers[0].url;
    const put = (user: TestUser, deviceId: number, body: unknown) =>
      call(base, 'PUT', `/v1/devices/${deviceId}/push`, { token: user.token, body });
    const problems = async (body: unknown) => {
      const answer = await put(carol, carol.deviceId, body);
      expect(answer.status).toBe(400);
      return JSON.stringify(answer.body);
    };
    expect(await problems({ provider: 'pigeon', token: pushToken() })).toContain(
      'provider must be one of apns, fcm, webhook',
    );
    expect(await problems({ provider: 'webhook', token: 'short' })).toContain('token must be at least 16 characters');
    expect(await problems({ provider: 'apns', token: 'z'.repeat(64) })).toContain('token is not a valid apns token');
    expect(await problems({ provider: 'fcm', token: `${'a'.repeat(40)} b` })).toContain(
      'token is not a valid fcm token',
    );
    expect(await problems({ provider: 'webhook', token: 'x'.repeat(4097) })).toContain('at most 4096');
    expect((await put(carol, carol.deviceId, { provider: 'apns', token: 'ab'.repeat(32) })).status).toBe(204);
    // Device ids are per account, so the path can only name the caller's devices: one Carol does not have, or
    // has removed, is a 404.
    expect((await put(carol, 999, { provider: 'webhook', token: pushToken() })).status).toBe(404);
    const spare = await login(base, carol, 'spare');
    expect((await call(base, 'DELETE', `/v1/devices/${spare.deviceId}`, { token: carol.token })).status).toBe(204);
    expect((await put(carol, spare.deviceId, { provider: 'webhook', token: pushToken() })).status).toBe(404);
    expect((await call(base, 'DELETE', '/v1/devices/999/push', { token: carol.token })).status).toBe(404);

    // After DELETE, a message to Carol (offline) wakes nobody.
    const token = pushToken();
    expect((await put(carol, carol.deviceId, { provider: 'webhook', token })).status).toBe(204);
    expect((await call(base, 'DELETE', `/v1/devices/${carol.deviceId}/push`, { token: carol.token })).status).toBe(204);
    const sent = await call(base, 'POST', `/v1/conversations/${conversationId}/messages`, {
      token: alice.token,
      body: { clientMessageId: randomUUID(), ciphertext: randomBytes(16).toString('base64') },
    });
    expect(sent.status).toBe(202);
    await eventually(
      async () => {
        await replicaCaughtUp();
        const page = await call(base, 'GET', `/v1/conversations/${conversationId}/messages?limit=5`, {
          token: carol.token,
        });
        return page.body.items?.some((item: { id: string }) => item.id === sent.body.id) || undefined;
      },
      10_000,
      'stored',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(receiver.to([token])).toEqual([]);
  }, 60_000);
});
