import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../common/config/database-options';
import { MessageStore } from '../../worker/messages/message-store';
import type { ServerApp } from '../bootstrap';
import { call, conversationOf, env, privateQueue, register, sql, startServer, TestUser } from './helpers';

jest.setTimeout(60_000);

/**
 * A clientMessageId is an idempotency key per (sender, conversation): a resend to the same conversation is one
 * message, the same id in another conversation is another message. Sent through the API into a private queue,
 * then stored by the worker's own idempotent insert.
 */
describe('client message ids', () => {
  let server: ServerApp;
  let queue: Awaited<ReturnType<typeof privateQueue>>;
  let dataSource: DataSource;
  let alice: TestUser;
  let withBob: string;
  let withCarol: string;

  beforeAll(async () => {
    queue = await privateQueue();
    server = await startServer({ env: { SQS_MESSAGES_QUEUE_URL: queue.url } });
    dataSource = new DataSource(
      buildDataSourceOptions(env(), {}, { poolSize: 2, applicationName: 'cyphr-test-client-message-id' }),
    );
    await dataSource.initialize();
    const [bob, carol] = await Promise.all([register(server.url, 'bob'), register(server.url, 'carol')]);
    alice = await register(server.url, 'alice');
    [withBob, withCarol] = await Promise.all([
      conversationOf(server.url, alice, [bob]),
      conversationOf(server.url, alice, [carol]),
    ]);
  });

  afterAll(async () => {
    await server?.shutdown();
    await dataSource?.destroy();
    await queue?.remove();
  });

  const send = (conversationId: string, clientMessageId: string) =>
    call(server.url, 'POST', `/v1/conversations/${conversationId}/messages`, {
      token: alice.token,
      body: { clientMessageId, ciphertext: randomBytes(32).toString('base64') },
    });

  it('stores the same client id in two conversations as two messages, and a retry once', async () => {
    const clientMessageId = randomUUID();
    const toBob = await send(withBob, clientMessageId);
    const toCarol = await send(withCarol, clientMessageId);
    const retry = await send(withBob, clientMessageId);
    expect([toBob.status, toCarol.status, retry.status]).toEqual([202, 202, 202]);
    // Keyed by (sender, client id) alone (the old rule), both conversations got the same id and the second
    // message was dropped by the worker as a "retry" of the first.
    expect(toCarol.body.id).not.toBe(toBob.body.id);
    expect(retry.body.id).toBe(toBob.body.id);

    const bodies = (await queue.receiveAll(1_500)).filter((body) => body.clientMessageId === clientMessageId);
    // The retry has the first send's id, the FIFO deduplication id: the queue drops it within five minutes.
    expect(bodies).toHaveLength(2);
    // A copy arriving after that window (or redelivered) is dropped by the worker's unique key.
    const redelivered = bodies.find((body) => body.id === toBob.body.id);
    const results = await new MessageStore(dataSource).storeBatch([...bodies, redelivered]);
    expect(results.map((result) => result.status).sort()).toEqual(['duplicate', 'stored', 'stored']);

    const rows = await sql<{ id: string; conversation_id: string }>(
      'primary',
      'SELECT id, conversation_id FROM messages WHERE sender_id = $1 AND client_message_id = $2 ORDER BY conversation_id',
      [alice.id, clientMessageId],
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { id: toBob.body.id, conversation_id: withBob },
        { id: toCarol.body.id, conversation_id: withCarol },
      ]),
    );
    expect(rows).toHaveLength(2);

    // A retry that arrives after the message was stored is a duplicate, answered with the stored message.
    const [late] = await new MessageStore(dataSource).storeBatch([bodies.find((body) => body.id === toCarol.body.id)]);
    expect(late).toMatchObject({ status: 'duplicate', message: { id: toCarol.body.id, conversationId: withCarol } });
  });
});
