import { randomUUID } from 'node:crypto';
import type { MessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { RedisKeys } from '../../common/redis/keys';
import type { ServerApp } from '../bootstrap';
import { MEMBERS_MEMORY_MS } from '../conversations/member-cache';
import { LIVE_SESSION_MEMORY_MS } from '../devices/devices.repository';
import { MessageQueueService } from '../infrastructure/message-queue.service';
import { call, conversationOf, register, sleep, sql, TestUser, TwoInstances, twoInstances } from './helpers';

jest.setTimeout(60_000);

/**
 * Sessions and members are kept in each instance's memory for a moment (DevicesRepository.isLive,
 * MemberCache.read). Two instances, as behind the ALB: what changes on one is seen by the other's next request
 * when the invalidation is heard, and within a second when it is lost.
 */
describe('what instances keep in memory', () => {
  let a: ServerApp;
  let b: ServerApp;
  let redis: TwoInstances['redis'];
  twoInstances((started) => ({ a, b, redis } = started));

  const me = (server: ServerApp, user: TestUser) => call(server.url, 'GET', '/v1/users/me', { token: user.token });
  const send = (server: ServerApp, user: TestUser, conversationId: string) =>
    call(server.url, 'POST', `/v1/conversations/${conversationId}/messages`, {
      token: user.token,
      body: { clientMessageId: randomUUID(), ciphertext: 'AAAA' },
    });
  /** Polls until `status` comes back; answers how long that took. */
  async function until(expected: number, request: () => Promise<{ status: number }>): Promise<number> {
    const started = Date.now();
    while ((await request()).status !== expected) {
      if (Date.now() - started > 5_000) throw new Error(`still not ${expected} after 5 s`);
      await sleep(20);
    }
    return Date.now() - started;
  }

  it('a logout on one instance is refused by the other on its next request, though it just said live', async () => {
    const user = await register(a.url, 'mem');
    for (let i = 0; i < 3; i++) expect((await me(b, user)).status).toBe(200);
    expect((await call(a.url, 'POST', '/v1/auth/logout', { token: user.token })).status).toBe(204);
    expect((await me(b, user)).status).toBe(401);
  });

  it('a revocation whose message is lost still holds on every instance within a second', async () => {
    const user = await register(a.url, 'lost');
    expect((await me(b, user)).status).toBe(200);
    // What a removal does, without the published revocation: the row, then the tombstone.
    const [{ session_id: sessionId }] = await sql(
      'primary',
      'UPDATE devices SET removed_at = now() WHERE user_id = $1 AND id = $2 RETURNING session_id',
      [user.id, user.deviceId],
    );
    await redis.hSet(RedisKeys.token(user.id), sessionId, '0');
    const took = await until(401, () => me(b, user));
    expect(took).toBeLessThanOrEqual(LIVE_SESSION_MEMORY_MS + 200);
    expect(took).toBeLessThan(1_000);
  });

  it('a member added on one instance is in the fan-out of the other’s next send; a removed one is refused there', async () => {
    const [alice, bob, carol] = await Promise.all(['al', 'bo', 'ca'].map((name) => register(a.url, name)));
    const conversationId = await conversationOf(a.url, alice, [bob]);
    const queued: MessageQueueBodyV1[] = [];
    const queue = b.app.get(MessageQueueService);
    const enqueue = queue.enqueueMessage.bind(queue);
    const spy = jest.spyOn(queue, 'enqueueMessage').mockImplementation((body) => {
      queued.push(body);
      return enqueue(body);
    });
    try {
      expect((await send(b, alice, conversationId)).status).toBe(202);
      expect((await send(b, bob, conversationId)).status).toBe(202); // B holds the members now
      const added = await call(a.url, 'POST', `/v1/conversations/${conversationId}/members`, {
        token: alice.token,
        body: { userIds: [carol.id] },
      });
      expect(added.status).toBe(200);
      expect((await send(b, alice, conversationId)).status).toBe(202);
      expect(queued.at(-1)!.memberIds.sort()).toEqual([alice.id, bob.id, carol.id].sort());

      const removed = await call(a.url, 'DELETE', `/v1/conversations/${conversationId}/members/${bob.id}`, {
        token: alice.token,
      });
      expect(removed.status).toBe(200);
      expect((await send(b, bob, conversationId)).status).toBe(404);
      expect((await send(b, carol, conversationId)).status).toBe(202);
      expect(queued.at(-1)!.memberIds.sort()).toEqual([alice.id, carol.id].sort());
    } finally {
      spy.mockRestore();
    }
  });

  it('a member change whose message is lost is seen by every instance within a second', async () => {
    const [alice, bob] = await Promise.all(['al', 'bo'].map((name) => register(a.url, name)));
    const conversationId = await conversationOf(a.url, alice, [bob]);
    expect((await send(b, bob, conversationId)).status).toBe(202);
    // Bob leaves behind the API's back: the rows and the cache entry change, nobody is told.
    const [{ version }] = await sql(
      'primary',
      `WITH gone AS (DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2)
       UPDATE conversations SET membership_version = membership_version + 1 WHERE id = $1
       RETURNING membership_version::text AS version`,
      [conversationId, bob.id],
    );
    await redis.set(RedisKeys.members(conversationId), `${version}:${alice.id}`);
    const took = await until(404, () => send(b, bob, conversationId));
    expect(took).toBeLessThanOrEqual(MEMBERS_MEMORY_MS + 200);
  });
});
