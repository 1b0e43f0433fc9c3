import type { ServerApp } from '../bootstrap';
import { call, conversationOf, register, replicaCaughtUp, sql, startServer, storeMessage } from './helpers';

jest.setTimeout(60_000);

/**
 * Which server of the pair answered which query. The instance gets its own application_name, and
 * pg_stat_activity on each server keeps every backend's most recent statement: after a history read, the
 * history SQL must show up on the replica under that name and never on the primary. Writes cannot go
 * anywhere else: the replica is in recovery (read-only) and would refuse them.
 */
describe('replication routing', () => {
  let server: ServerApp;
  let applicationName: string;

  beforeAll(async () => {
    applicationName = `cyphr-repl-${Date.now().toString(36)}`;
    server = await startServer({ applicationName, poolSize: 1 });
  });

  afterAll(() => server?.shutdown());

  const statements = (side: 'primary' | 'replica') =>
    sql<{ query: string }>(side, 'SELECT query FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]).then((rows) => rows.map((row) => row.query));

  it('reads history from the replica and writes on the primary', async () => {
    const [[replica], [primary]] = await Promise.all([
      sql('replica', 'SELECT pg_is_in_recovery() AS r'),
      sql('primary', 'SELECT pg_is_in_recovery() AS r'),
    ]);
    expect(replica.r).toBe(true);
    expect(primary.r).toBe(false);

    const [alice, bob] = await Promise.all([register(server.url, 'alice'), register(server.url, 'bob')]);
    const conversationId = await conversationOf(server.url, alice, [bob]);
    await storeMessage(conversationId, alice.id);
    await replicaCaughtUp();

    const history = await call(server.url, 'GET', `/v1/conversations/${conversationId}/messages`, { token: bob.token });
    expect(history.status).toBe(200);
    expect(history.body.items).toHaveLength(1);

    const onReplica = await statements('replica');
    const onPrimary = await statements('primary');
    expect(
      onReplica.some((query) => query.includes('FROM messages') && query.includes('ORDER BY messages.seq DESC')),
    ).toBe(true);
    expect(onPrimary.some((query) => query.includes('ORDER BY messages.seq DESC'))).toBe(false);
    // The conversation was created by this instance: only the primary has seen its INSERTs.
    expect(onReplica.some((query) => /INSERT|UPDATE|DELETE/i.test(query))).toBe(false);
  });

  it('reads a conversation created a moment ago from the primary (read-your-own-write)', async () => {
    const [alice, bob] = await Promise.all([register(server.url, 'alice'), register(server.url, 'bob')]);
    const conversationId = await conversationOf(server.url, alice, [bob]);
    const list = await call(server.url, 'GET', '/v1/conversations', { token: alice.token });
    expect(list.body.items.map((item: { id: string }) => item.id)).toContain(conversationId);
    expect(
      (await statements('primary')).some((query) => query.includes('FROM conversation_members m JOIN conversations')),
    ).toBe(true);
  });
});
