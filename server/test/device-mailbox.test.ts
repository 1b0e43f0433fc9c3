import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes, randomUUID } from 'node:crypto';
import { createLogger } from '../../worker/observability/logger';
import {
  createTestQueues,
  queueEnv,
  RecordingPushProvider,
  TestQueues,
  testSqs,
  workerEnv,
} from '../../worker/test/helpers';
import { createWorker, Worker } from '../../worker/worker';
import type { ServerApp } from '../bootstrap';
import { CyphrClient, Session } from '../../scripts/testing/api-client';
import { call, conversationOf, eventually, login, register, sql, startServer, TestSocket, TestUser } from './helpers';

const ciphertext = (bytes = 32) => randomBytes(bytes).toString('base64');

/**
 * Device-to-device mailboxes and delivery receipts on two API instances (receipts on) plus a third with
 * DELIVERY_RECEIPTS=off, and the worker: a message reaches only its device, live and pending, until that device
 * acknowledges it; addressing is all or nothing; expired rows are purged; senders hear `delivered`.
 */
describe('device mailbox and delivery receipts: API instances and the worker (real services)', () => {
  let sqs: SQSClient;
  let queues: TestQueues;
  let a: ServerApp;
  let b: ServerApp;
  let quiet: ServerApp;
  let worker: Worker;
  let alice: TestUser;
  let aliceLaptop: TestUser;
  let bob: TestUser;
  let bobLaptop: TestUser;
  let bobTablet: TestUser;
  let mallory: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    sqs = testSqs();
    queues = await createTestQueues(sqs, { visibilityTimeout: 10, maxReceiveCount: 5 });
    const env = { SQS_MESSAGES_QUEUE_URL: queues.messages, SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications };
    [a, b, quiet] = await Promise.all([
      startServer({ env }),
      startServer({ env }),
      startServer({ env: { ...env, DELIVERY_RECEIPTS: 'off' } }),
    ]);
    worker = await createWorker(
      workerEnv(queueEnv(queues, { MAILBOX_PURGE_INTERVAL_SECONDS: '1' })),
      createLogger('silent'),
      { pushProvider: new RecordingPushProvider() },
    );
    worker.start();
    [alice, bob, mallory] = await Promise.all([
      register(a.url, 'alice'),
      register(a.url, 'bob'),
      register(a.url, 'mallory'),
    ]);
    [aliceLaptop, bobLaptop, bobTablet] = await Promise.all([
      login(a.url, alice, 'laptop'),
      login(a.url, bob, 'laptop'),
      login(a.url, bob, 'tablet'),
    ]);
    conversationId = await conversationOf(a.url, alice, [bob]);
  });

  afterAll(async () => {
    await worker?.stop();
    await Promise.all([a, b, quiet].filter(Boolean).map((server) => server.shutdown()));
    await queues?.remove();
    sqs?.destroy();
  });

  const sendTo = (server: ServerApp, from: TestUser, messages: object[]) =>
    call(server.url, 'POST', '/v1/devices/messages', { token: from.token, body: { messages } });
  const pendingIds = async (server: ServerApp, device: TestUser): Promise<string[]> => {
    const page = await call(server.url, 'GET', '/v1/devices/messages?limit=1000', { token: device.token });
    expect(page.status).toBe(200);
    return page.body.items.map((item: { id: string }) => item.id);
  };
  const address = (device: TestUser) => ({ userId: device.id, deviceId: device.deviceId });
  const session = (device: TestUser): Session => ({ ...device, userId: device.id });

  it('a device message reaches only its device, live and pending, until that device acknowledges it', async () => {
    const [phoneSocket, laptopSocket] = await Promise.all([
      TestSocket.open(b.url, bob.token),
      TestSocket.open(a.url, bobLaptop.token),
    ]);
    try {
      // One request to two of Bob's devices: the phone is online, the tablet offline.
      const first = await sendTo(a, alice, [
        { ...address(bob), ciphertext: ciphertext() },
        { ...address(bobTablet), ciphertext: ciphertext() },
      ]);
      expect(first.status).toBe(202);
      const [toPhone, toTablet] = first.body.ids as string[];
      const live = await phoneSocket.next((event) => event.type === 'device-message' && event.id === toPhone, 15_000);
      expect(live).toEqual({
        type: 'device-message',
        id: toPhone,
        senderId: alice.id,
        senderDeviceId: alice.deviceId,
        ciphertext: expect.any(String),
        sentAt: expect.any(String),
      });
      // Published on Bob's channel after the phone's: had the laptop got the phone's, it would have come first.
      const second = await sendTo(b, alice, [{ ...address(bobLaptop), ciphertext: ciphertext() }]);
      expect(second.status).toBe(202);
      const [toLaptop] = second.body.ids as string[];
      await laptopSocket.next((event) => event.type === 'device-message' && event.id === toLaptop, 15_000);
      expect(laptopSocket.events.filter((event) => event.type === 'device-message').map((event) => event.id)).toEqual([
        toLaptop,
      ]);
      expect(phoneSocket.events.some((event) => event.id === toTablet)).toBe(false);

      // Offline: the tablet finds its message pending, oldest first, with what the event would have carried.
      await eventually(async () => (await pendingIds(b, bobTablet)).includes(toTablet), 15_000, 'tablet pending');
      // Through the typed client, as an app would.
      const client = new CyphrClient(a.url);
      expect(await client.pendingDeviceMessages(session(bobTablet))).toEqual({
        items: [
          {
            id: toTablet,
            senderId: alice.id,
            senderDeviceId: alice.deviceId,
            ciphertext: expect.any(String),
            sentAt: expect.any(String),
          },
        ],
        more: false,
      });
      expect(await pendingIds(a, bob)).toEqual([toPhone]);

      // Another device's ack deletes nothing of the tablet's; the tablet's own ack over HTTP does.
      expect(
        (await call(a.url, 'POST', '/v1/devices/messages/ack', { token: bobLaptop.token, body: { ids: [toTablet] } }))
          .status,
      ).toBe(204);
      expect(await pendingIds(a, bobTablet)).toEqual([toTablet]);
      await client.ackDeviceMessages(session(bobTablet), [toTablet]);
      expect(await pendingIds(a, bobTablet)).toEqual([]);

      // The socket ack: no answer, the row goes.
      phoneSocket.ws.send(JSON.stringify({ type: 'ack', ids: [toPhone] }));
      await eventually(async () => (await pendingIds(a, bob)).length === 0, 5_000, 'phone acknowledged');
      expect(phoneSocket.events.filter((event) => event.type === 'error')).toEqual([]);
      laptopSocket.ws.send(JSON.stringify({ type: 'ack', ids: [toLaptop] }));
      await eventually(async () => (await pendingIds(b, bobLaptop)).length === 0, 5_000, 'laptop acknowledged');
    } finally {
      phoneSocket.close();
      laptopSocket.close();
    }
  }, 60_000);

  it('refuses the whole request when one device may not be written to, and queues nothing of it', async () => {
    const phoneSocket = await TestSocket.open(a.url, bob.token);
    try {
      const refused = ciphertext(48);
      const stranger = await sendTo(a, alice, [
        { ...address(bob), ciphertext: refused },
        { ...address(mallory), ciphertext: ciphertext() },
      ]);
      expect(stranger.status).toBe(404);
      expect(stranger.body.message).toBe(
        `device ${mallory.deviceId} of user ${mallory.id} is not a device you can send to`,
      );
      expect((await sendTo(a, alice, [{ userId: bob.id, deviceId: 999, ciphertext: refused }])).status).toBe(404);
      expect((await sendTo(a, alice, [{ ...address(alice), ciphertext: refused }])).body).toMatchObject({
        statusCode: 404,
        message: 'a device cannot send to itself',
      });
      // Another of the sender's own devices is fine.
      expect((await sendTo(a, alice, [{ ...address(aliceLaptop), ciphertext: ciphertext() }])).status).toBe(202);

      // The phone's mailbox is one FIFO group: anything queued by the refused requests would come before this.
      const marker = await new CyphrClient(b.url).sendDeviceMessages(session(alice), [
        { ...address(bob), ciphertext: ciphertext() },
      ]);
      await phoneSocket.next((event) => event.type === 'device-message' && event.id === marker[0], 15_000);
      expect(phoneSocket.events.filter((event) => event.type === 'device-message')).toHaveLength(1);
      expect(await pendingIds(a, bob)).toEqual(marker);
    } finally {
      phoneSocket.close();
    }
  }, 30_000);

  it('validates sizes and shapes: 400 for bad items, 413 past the route’s own body limit only', async () => {
    const to = address(bob);
    const problem = async (messages: object[]) => {
      const answer = await sendTo(a, alice, messages);
      expect(answer.status).toBe(400);
      return answer.body.message as string;
    };
    expect(await problem([])).toMatch(/at least one/);
    expect(await problem(Array.from({ length: 1001 }, () => ({ ...to, ciphertext: 'AAAA' })))).toMatch(/at most 1000/);
    expect(await problem([{ ...to, ciphertext: randomBytes(64 * 1024 + 3).toString('base64') }])).toMatch(/64 KiB/);
    expect(await problem([{ ...to, ciphertext: 'not base64!' }])).toMatch(/base64/);
    expect(await problem([{ ...to, deviceId: 0, ciphertext: 'AAAA' }])).toMatch(/deviceId/);

    // Larger than the common 128 KiB limit, within this route's: three full-size items are accepted.
    const large = await sendTo(
      a,
      alice,
      Array.from({ length: 3 }, () => ({ ...to, ciphertext: randomBytes(64 * 1024).toString('base64') })),
    );
    expect(large.status).toBe(202);
    const huge = await call(a.url, 'POST', '/v1/devices/messages', {
      token: alice.token,
      body: { messages: Array.from({ length: 50 }, () => ({ ...to, ciphertext: 'A'.repeat(87_000) })) },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.message).toBe(`Request body exceeds ${4 * 1024 * 1024} bytes`);
    // The acknowledgement route keeps the common limit.
    const bigAck = await call(a.url, 'POST', '/v1/devices/messages/ack', {
      token: bob.token,
      body: { ids: Array.from({ length: 4000 }, () => randomUUID()) },
    });
    expect(bigAck.status).toBe(413);
    expect(bigAck.body.message).toBe(`Request body exceeds ${128 * 1024} bytes`);

    expect(
      (await call(a.url, 'POST', '/v1/devices/messages/ack', { token: bob.token, body: { ids: ['x'] } })).status,
    ).toBe(400);
    expect((await call(a.url, 'GET', '/v1/devices/messages?limit=1001', { token: bob.token })).status).toBe(400);

    // A malformed ack frame is an error frame; the socket stays open.
    const socket = await TestSocket.open(a.url, bob.token);
    try {
      socket.ws.send(JSON.stringify({ type: 'ack', ids: ['not-a-uuid'] }));
      expect(await socket.next((event) => event.type === 'error')).toEqual({
        type: 'error',
        message: 'ack: ids must be a list of 1 to 1000 uuids',
      });
      socket.ws.send(JSON.stringify({ type: 'ping' }));
      await socket.next((event) => event.type === 'pong');
    } finally {
      socket.close();
    }
    await call(a.url, 'POST', '/v1/devices/messages/ack', { token: bob.token, body: { ids: large.body.ids } });
  }, 30_000);

  it('purges what expired unacknowledged and keeps what has not, and measures the mailbox', async () => {
    const insert = (expiresAt: string) =>
      sql<{ id: string }>(
        'primary',
        `INSERT INTO device_messages (id, user_id, device_id, sender_id, sender_device_id, ciphertext, sent_at, expires_at)
         VALUES (gen_random_uuid(), $1, $2, $3, $4, 'AAAA', now() - interval '31 days', $5::timestamptz) RETURNING id`,
        [bobTablet.id, bobTablet.deviceId, alice.id, alice.deviceId, expiresAt],
      );
    const [[expired], [live]] = await Promise.all([
      insert(new Date(Date.now() - 60_000).toISOString()),
      insert(new Date(Date.now() + 3_600_000).toISOString()),
    ]);
    await eventually(
      async () => (await sql('primary', 'SELECT 1 FROM device_messages WHERE id = $1', [expired.id])).length === 0,
      15_000,
      'expired row purged',
    );
    expect(await pendingIds(a, bobTablet)).toEqual([live.id]);
    const text = await worker.metrics.registry.metrics();
    expect(text).toMatch(/^cyphr_worker_mailbox_pending_messages \d/m);
    expect(text).toMatch(/^cyphr_worker_mailbox_oldest_pending_age_seconds \d/m);
    expect(text).toMatch(/^cyphr_worker_mailbox_purged_total \d/m);
    await call(a.url, 'POST', '/v1/devices/messages/ack', { token: bobTablet.token, body: { ids: [live.id] } });
  }, 30_000);

  it('tells the sender’s devices when a device acknowledges or fetches their message, unless receipts are off', async () => {
    const [phone, laptop] = await Promise.all([
      TestSocket.open(a.url, alice.token),
      TestSocket.open(b.url, aliceLaptop.token),
    ]);
    try {
      const sent = await call(a.url, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: alice.token,
        body: { clientMessageId: randomUUID(), ciphertext: ciphertext() },
      });
      expect(sent.status).toBe(202);
      const messageId = sent.body.id as string;
      await phone.next((event) => event.type === 'message' && event.message.id === messageId, 15_000);
      const delivered = (device: TestUser) => (event: any) =>
        event.type === 'delivered' &&
        event.messageId === messageId &&
        event.userId === device.id &&
        event.deviceId === device.deviceId;

      // An ack on the socket (the id is no mailbox item: it is looked up as a conversation message).
      const bobSocket = await TestSocket.open(b.url, bob.token);
      bobSocket.ws.send(JSON.stringify({ type: 'ack', ids: [messageId] }));
      expect(await phone.next(delivered(bob))).toEqual({
        type: 'delivered',
        conversationId,
        messageId,
        userId: bob.id,
        deviceId: bob.deviceId,
      });
      await laptop.next(delivered(bob));
      bobSocket.close();

      // Receipts off: neither an ack nor a history page says anything.
      expect(
        (
          await call(quiet.url, 'POST', '/v1/devices/messages/ack', {
            token: bobTablet.token,
            body: { ids: [messageId] },
          })
        ).status,
      ).toBe(204);
      await eventually(
        async () => {
          const page = await call(quiet.url, 'GET', `/v1/conversations/${conversationId}/messages?after=0`, {
            token: bobTablet.token,
          });
          return page.body.items?.some((item: { id: string }) => item.id === messageId);
        },
        10_000,
        'history on the replica',
      );
      // A history page (the sender's own first: that is never a receipt), on an instance with receipts on.
      await call(a.url, 'GET', `/v1/conversations/${conversationId}/messages`, { token: alice.token });
      await eventually(
        async () => {
          const page = await call(a.url, 'GET', `/v1/conversations/${conversationId}/messages`, {
            token: bobLaptop.token,
          });
          return page.body.items?.some((item: { id: string }) => item.id === messageId);
        },
        10_000,
        'history on the replica',
      );
      await phone.next(delivered(bobLaptop));
      // The tablet's ack on the quiet instance came before and sent nothing; this one does.
      await call(a.url, 'POST', '/v1/devices/messages/ack', { token: bobTablet.token, body: { ids: [messageId] } });
      await phone.next(delivered(bobTablet));
      expect(phone.events.filter(delivered(bobTablet))).toHaveLength(1);
      expect(phone.events.filter((event) => event.type === 'delivered' && event.userId === alice.id)).toEqual([]);
    } finally {
      phone.close();
      laptop.close();
    }
  }, 30_000);
});
