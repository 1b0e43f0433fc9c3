import { SQSClient } from '@aws-sdk/client-sqs';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { randomBytes, randomUUID } from 'node:crypto';
import { ASYNCAPI_DOCUMENT, CLIENT_FRAMES, SERVER_FRAMES } from '../../common/contracts/realtime-asyncapi';
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
import {
  call,
  conversationOf,
  login,
  publicKey,
  register,
  signature,
  startServer,
  TestSocket,
  TestUser,
} from './helpers';

/** The document's own schemas, resolved the way a client's validator would (JSON Schema with formats). */
function validators(): { server: Map<string, ValidateFunction>; client: Map<string, ValidateFunction> } {
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  // The AsyncAPI document's own fields are not JSON Schema keywords; only its components' schemas are compiled.
  ajv.addVocabulary(['asyncapi', 'info', 'defaultContentType', 'channels', 'operations', 'components']);
  ajv.addSchema(ASYNCAPI_DOCUMENT, 'asyncapi.json');
  const byType = (frames: Record<string, string>) =>
    new Map(
      Object.values(frames).map((name) => {
        const schema = ASYNCAPI_DOCUMENT.components.schemas[name as keyof typeof ASYNCAPI_DOCUMENT.components.schemas];
        const type = (schema.properties as { type?: { const?: string } }).type?.const;
        if (!type) throw new Error(`${name} has no fixed type`);
        return [type, ajv.getSchema(`asyncapi.json#/components/schemas/${name}`)!];
      }),
    );
  return { server: byType(SERVER_FRAMES), client: byType(CLIENT_FRAMES) };
}

/** Problems of one frame against the schema its `type` names; none when it conforms. */
function problems(schemas: Map<string, ValidateFunction>, frame: { type?: unknown }): string[] {
  const validate = schemas.get(String(frame.type));
  if (!validate) return [`no published schema for type ${JSON.stringify(frame.type)}`];
  return validate(frame) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}

/**
 * Every frame a live gateway sends, through the real path (HTTP → SQS → worker → Redis → WebSocket for messages;
 * the API itself for receipts, presence, identity changes and answers to client frames), conforms to the AsyncAPI
 * document served at /v1/asyncapi.json, and each kind of server frame the document lists is seen at least once.
 */
describe('the WebSocket frames match the published AsyncAPI schemas (real services)', () => {
  let sqs: SQSClient;
  let queues: TestQueues;
  let server: ServerApp;
  let worker: Worker;
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;
  const schemas = validators();

  beforeAll(async () => {
    sqs = testSqs();
    queues = await createTestQueues(sqs, { visibilityTimeout: 10, maxReceiveCount: 5 });
    server = await startServer({
      env: { SQS_MESSAGES_QUEUE_URL: queues.messages, SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications },
    });
    worker = await createWorker(workerEnv(queueEnv(queues)), createLogger('silent'), {
      pushProvider: new RecordingPushProvider(),
    });
    worker.start();
    [alice, bob] = await Promise.all([register(server.url, 'alice'), register(server.url, 'bob')]);
    conversationId = await conversationOf(server.url, alice, [bob]);
  });

  afterAll(async () => {
    await worker?.stop();
    await server?.shutdown();
    await queues?.remove();
    sqs?.destroy();
  });

  it('serves the document it validates against', async () => {
    const served = await call(server.url, 'GET', '/v1/asyncapi.json');
    expect(served.status).toBe(200);
    expect(served.body).toEqual(JSON.parse(JSON.stringify(ASYNCAPI_DOCUMENT)));
  });

  it('every frame sent in a conversation, both directions, has a schema and conforms to it', async () => {
    const aliceSocket = await TestSocket.open(server.url, alice.token);
    const bobSocket = await TestSocket.open(server.url, bob.token, 'protocol');
    const sent: object[] = [];
    const send = (socket: TestSocket, frame: object) => {
      sent.push(frame);
      socket.ws.send(JSON.stringify(frame));
    };
    try {
      // presence: Bob came online after Alice.
      await aliceSocket.next((event) => event.type === 'presence' && event.userId === bob.id && event.online);

      send(aliceSocket, { type: 'ping' });
      await aliceSocket.next((event) => event.type === 'pong');
      const refreshed = await call(server.url, 'POST', '/v1/auth/refresh', {
        body: { refreshToken: alice.refreshToken },
      });
      expect(refreshed.status).toBe(200);
      send(aliceSocket, { type: 'auth', token: refreshed.body.accessToken });
      await aliceSocket.next((event) => event.type === 'auth');
      // Not a frame a client may send: answered with an error, and not part of `sent`.
      aliceSocket.ws.send(JSON.stringify({ type: 'subscribe', conversationId }));
      await aliceSocket.next((event) => event.type === 'error');

      const clientMessageId = randomUUID();
      const accepted = await call(server.url, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: bob.token,
        body: { clientMessageId, ciphertext: randomBytes(48).toString('base64') },
      });
      expect(accepted.status).toBe(202);
      const isIt = (event: any) => event.type === 'message' && event.message.clientMessageId === clientMessageId;
      await Promise.all([aliceSocket.next(isIt, 15_000), bobSocket.next(isIt, 15_000)]);

      const read = await call(server.url, 'POST', `/v1/conversations/${conversationId}/read`, {
        token: alice.token,
        body: { upToMessageId: accepted.body.id },
      });
      expect(read.status).toBe(204);
      await bobSocket.next((event) => event.type === 'receipt' && event.userId === alice.id);

      const rekeyed = await call(server.url, 'PUT', '/v1/keys', {
        token: bob.token,
        body: {
          identityKey: publicKey(),
          password: bob.password,
          signedPreKey: { keyId: 2, publicKey: publicKey(), signature: signature() },
          oneTimePreKeys: [],
        },
      });
      expect(rekeyed.status).toBe(200);
      await aliceSocket.next((event) => event.type === 'identity-changed' && event.userId === bob.id);
      // Alice takes one of Bob's few one-time prekeys: Bob's device is told it runs low.
      const bundles = await call(server.url, 'GET', `/v1/users/${bob.id}/keys`, { token: alice.token });
      expect(bundles.status).toBe(200);
      await bobSocket.next((event) => event.type === 'prekeys-low');

      // Alice logs in on a second device: her first device hears `device-added`, Bob `devices-changed`.
      const aliceLaptop = await login(server.url, alice, 'laptop');
      await aliceSocket.next((event) => event.type === 'device-added' && event.deviceId === aliceLaptop.deviceId);
      await bobSocket.next((event) => event.type === 'devices-changed' && event.userId === alice.id);

      // A device-to-device message reaches Bob's device; Bob acknowledges it. Alice acknowledges Bob's message:
      // Bob's devices hear `delivered`.
      const toBob = await call(server.url, 'POST', '/v1/devices/messages', {
        token: alice.token,
        body: {
          messages: [{ userId: bob.id, deviceId: bob.deviceId, ciphertext: randomBytes(32).toString('base64') }],
        },
      });
      expect(toBob.status).toBe(202);
      await bobSocket.next((event) => event.type === 'device-message' && event.id === toBob.body.ids[0], 15_000);
      send(bobSocket, { type: 'ack', ids: toBob.body.ids });
      send(aliceSocket, { type: 'ack', ids: [accepted.body.id] });
      await bobSocket.next((event) => event.type === 'delivered' && event.messageId === accepted.body.id);

      bobSocket.close();
      await aliceSocket.next((event) => event.type === 'presence' && event.userId === bob.id && !event.online);

      // Last, as it ends what Alice and Bob share: Bob leaves the conversation and Alice hears `members-changed`.
      const left = await call(server.url, 'DELETE', `/v1/conversations/${conversationId}/members/${bob.id}`, {
        token: bob.token,
      });
      expect(left.status).toBe(200);
      await aliceSocket.next((event) => event.type === 'members-changed' && event.removed.includes(bob.id));
    } finally {
      aliceSocket.close();
      bobSocket.close();
    }

    const received = [...aliceSocket.events, ...bobSocket.events];
    const nonconforming = received
      .map((frame) => ({ frame, problems: problems(schemas.server, frame) }))
      .filter((entry) => entry.problems.length > 0);
    expect(nonconforming).toEqual([]);
    expect(sent.flatMap((frame) => problems(schemas.client, frame))).toEqual([]);
    // Every kind of frame the document promises was really sent by the gateway in this run.
    expect(new Set(received.map((frame) => frame.type))).toEqual(new Set(schemas.server.keys()));
    expect(new Set(sent.map((frame) => (frame as { type: string }).type))).toEqual(new Set(schemas.client.keys()));
  }, 60_000);
});
