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

/** Catch-up: a device that was away pages forward from where it stopped (`after`), oldest first. */
describe('history forward from a cursor', () => {
  let server: ServerApp;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.shutdown());

  const page = (token: string, conversationId: string, query: string) =>
    call(server.url, 'GET', `/v1/conversations/${conversationId}/messages?${query}`, { token });

  it('pages oldest first from after=0, then from each nextCursor, and resumes after the last one it got', async () => {
    const [alice, bob] = await Promise.all([register(server.url, 'alice'), register(server.url, 'bob')]);
    const conversationId = await conversationOf(server.url, alice, [bob]);
    const base = BigInt(randomInt(1, 1_000_000_000)) * 1000n;
    const seqs = Array.from({ length: 7 }, (_, i) => base + BigInt(i) * 3n);
    for (const seq of seqs) await storeMessage(conversationId, alice.id, undefined, seq);
    await replicaCaughtUp();

    const seen: bigint[] = [];
    let cursor: string | null = '0';
    let last = '0';
    while (cursor !== null) {
      const answer = await page(bob.token, conversationId, `limit=3&after=${cursor}`);
      expect(answer.status).toBe(200);
      const items = answer.body.items as { seq: string }[];
      seen.push(...items.map((m) => BigInt(m.seq)));
      last = items.at(-1)?.seq ?? last;
      cursor = answer.body.nextCursor;
    }
    expect(seen).toEqual(seqs);

    // Later: one more message arrives; resuming after the last seq gets just that one.
    const later = base + 100n;
    await storeMessage(conversationId, alice.id, undefined, later);
    await replicaCaughtUp();
    const resumed = await page(bob.token, conversationId, `after=${last}`);
    expect(resumed.body.items.map((m: { seq: string }) => BigInt(m.seq))).toEqual([later]);
    expect(resumed.body.nextCursor).toBeNull();
  });

  it('refuses both directions at once and a cursor that is not one', async () => {
    const [alice, bob] = await Promise.all([register(server.url, 'alice'), register(server.url, 'bob')]);
    const conversationId = await conversationOf(server.url, alice, [bob]);
    const both = await page(bob.token, conversationId, 'after=0&before=5');
    expect(both.status).toBe(400);
    expect(both.body.message).toMatch(/either before .* or after/);
    for (const bad of ['-1', '01', 'x', '99999999999999999999'])
      expect((await page(bob.token, conversationId, `after=${bad}`)).status).toBe(400);
  });
});
