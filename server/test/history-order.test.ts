import { randomInt } from 'node:crypto';
import type { ServerApp } from '../bootstrap';
import { call, conversationOf, register, replicaCaughtUp, startServer, storeMessage } from './helpers';

jest.setTimeout(60_000);

/**
 * History is newest first by seq as a number. A regression guard: ordering by the select list's text alias
 * sorted "9" above "10", which the boot test caught as soon as a conversation's seqs crossed a digit.
 */
describe('history order across a digit boundary of seq', () => {
  let server: ServerApp;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.shutdown());

  it('pages newest first numerically, following the cursor', async () => {
    const [alice, bob] = await Promise.all([register(server.url, 'alice'), register(server.url, 'bob')]);
    const conversationId = await conversationOf(server.url, alice, [bob]);
    // Far above the identity counter, unique per run, and straddling 10^13: two 13-digit seqs, two 14-digit ones.
    const boundary = 10n ** 13n;
    const r = BigInt(randomInt(0, 1_000_000_000));
    const seqs = [boundary - 2n - 2n * r, boundary - 1n - 2n * r, boundary + 2n * r, boundary + 2n * r + 1n];
    for (const seq of seqs) await storeMessage(conversationId, alice.id, undefined, seq);
    await replicaCaughtUp();

    const first = await call(server.url, 'GET', `/v1/conversations/${conversationId}/messages?limit=3`, {
      token: bob.token,
    });
    expect(first.status).toBe(200);
    const second = await call(
      server.url,
      'GET',
      `/v1/conversations/${conversationId}/messages?limit=3&before=${first.body.nextCursor}`,
      { token: bob.token },
    );
    const order = [...first.body.items, ...second.body.items].map((m: { seq: string }) => BigInt(m.seq));
    expect(order).toEqual([...seqs].sort((a, b) => (a > b ? -1 : 1)));
    expect(second.body.nextCursor).toBeNull();
  });
});
