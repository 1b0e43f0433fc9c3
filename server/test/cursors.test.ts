import type { ServerApp } from '../bootstrap';
import { call, conversationOf, register, startServer, TestUser } from './helpers';

jest.setTimeout(60_000);

const cursorOf = (joinedAt: string, id: string) => Buffer.from(JSON.stringify([joinedAt, id])).toString('base64url');

/** A cursor the database would refuse is the client's mistake: 400 with a reason, never a 500. */
describe('cursors', () => {
  let server: ServerApp;
  let alice: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    server = await startServer();
    const bob = await register(server.url, 'bob');
    alice = await register(server.url, 'alice');
    conversationId = await conversationOf(server.url, alice, [bob]);
  });

  afterAll(() => server?.shutdown());

  const history = (before: string) =>
    call(server.url, 'GET', `/v1/conversations/${conversationId}/messages?before=${before}`, { token: alice.token });
  const conversations = (cursor: string) =>
    call(server.url, 'GET', `/v1/conversations?cursor=${cursor}`, { token: alice.token });

  it('refuses a history cursor beyond bigint with 400, and takes the largest bigint', async () => {
    for (const before of ['9223372036854775808', '9999999999999999999']) {
      const answer = await history(before);
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(/before must be a cursor/);
    }
    expect((await history('9223372036854775807')).status).toBe(200);
  });

  it('refuses a conversation cursor with an impossible date with 400', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const joinedAt of [
      '2026-02-30 10:00:00+00', // Date.parse rolls this over to March; PostgreSQL refuses it
      '2026-13-01 10:00:00+00',
      '0000-01-01 00:00:00+00',
      '2026-01-01 24:30:00+00',
      '2026-02-30T10:00:00Z',
    ]) {
      const answer = await conversations(cursorOf(joinedAt, id));
      expect({ joinedAt, status: answer.status, message: answer.body.message }).toEqual({
        joinedAt,
        status: 400,
        message: 'cursor is not valid',
      });
    }
  });

  it('still takes the cursors it hands out', async () => {
    const answer = await conversations(
      cursorOf('2999-02-28 10:00:00.123456+00', '00000000-0000-4000-8000-000000000000'),
    );
    expect(answer.status).toBe(200);
    expect(answer.body.items.map((item: { id: string }) => item.id)).toEqual([conversationId]);
  });
});
