import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { RedisKeys } from '../../common/redis/keys';
import { CyphrClient, Session } from '../../scripts/testing/api-client';
import type { ServerApp } from '../bootstrap';
import { MemberCache } from '../conversations/member-cache';
import {
  call,
  env,
  login,
  register,
  replicaCaughtUp,
  sql,
  startServer,
  storeMessage,
  TestSocket,
  TestUser,
} from './helpers';

jest.setTimeout(60_000);

const session = (user: TestUser): Session => ({ ...user, userId: user.id });

/** Messages stored a minute ago: settled, so a sync cursor may move past them. */
async function storeSettled(conversationId: string, senderId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await storeMessage(conversationId, senderId)).id);
  await sql('primary', `UPDATE messages SET stored_at = now() - interval '1 minute' WHERE id = ANY($1::uuid[])`, [ids]);
  return ids;
}

/** Conversations created a minute ago: their membership changes have settled too. */
async function settleMemberships(conversationIds: string[]): Promise<void> {
  await sql(
    'primary',
    `UPDATE membership_changes SET changed_at = changed_at - interval '1 minute' WHERE conversation_id = ANY($1::uuid[])`,
    [conversationIds],
  );
  await sql(
    'primary',
    `UPDATE conversation_members SET joined_at = joined_at - interval '1 minute' WHERE conversation_id = ANY($1::uuid[])`,
    [conversationIds],
  );
}

async function storeFresh(conversationId: string, senderId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await storeMessage(conversationId, senderId)).id);
  return ids;
}

async function mailboxItem(user: TestUser, deviceId: number, sender: TestUser, expiresIn: string): Promise<void> {
  await sql(
    'primary',
    `INSERT INTO device_messages (id, user_id, device_id, sender_id, sender_device_id, ciphertext, sent_at, expires_at)
     VALUES (gen_random_uuid(), $1, $2, $3, $4, 'AAAA', now(), now() + $5::interval)`,
    [user.id, deviceId, sender.id, sender.deviceId, expiresIn],
  );
}

const membersChanged = (conversationId: string, what: (event: any) => boolean) => (event: any) =>
  event.type === 'members-changed' && event.conversationId === conversationId && what(event);

/** Two API instances (as behind the ALB); messages are stored as the worker would (helpers.storeMessage). */
describe('members change and devices catch up', () => {
  let a: ServerApp;
  let b: ServerApp;
  let redis: ReturnType<typeof createClient>;
  let api: CyphrClient;
  let alice: TestUser;
  let aliceLaptop: TestUser;
  let bob: TestUser;
  let bobLaptop: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  const sockets: TestSocket[] = [];
  const open = async (server: ServerApp, user: TestUser) => {
    const socket = await TestSocket.open(server.url, user.token);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    [a, b] = await Promise.all([startServer(), startServer()]);
    redis = createClient({ url: env().REDIS_URL });
    await redis.connect();
    api = new CyphrClient(a.url);
    [alice, bob, carol, dave] = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((name) => register(a.url, name)),
    );
    [aliceLaptop, bobLaptop] = await Promise.all([login(b.url, alice, 'laptop'), login(b.url, bob, 'laptop')]);
  });

  afterAll(async () => {
    sockets.forEach((socket) => socket.close());
    await Promise.all([a?.shutdown(), b?.shutdown()]);
    await redis?.close();
  });

  it('the admin adds and removes; members-changed reaches exactly the old and new members’ devices', async () => {
    const conversationId = await api.createConversation(session(alice), [bob.id]);
    const [alicePhone, aliceOnB, bobPhone, bobOnB, carolOnB, daveOnA] = await Promise.all([
      open(a, alice),
      open(b, aliceLaptop),
      open(a, bob),
      open(b, bobLaptop),
      open(b, carol),
      open(a, dave),
    ]);

    const added = await api.addMembers(session(alice), conversationId, [carol.id, bob.id]);
    expect(added).toEqual({ conversationId, memberIds: expect.any(Array), adminId: alice.id, membershipVersion: '2' });
    expect(added.memberIds.at(-1)).toBe(carol.id); // longest-standing first
    expect([...added.memberIds].sort()).toEqual([alice.id, bob.id, carol.id].sort());
    const isCarolAdded = membersChanged(conversationId, (event) => event.added.includes(carol.id));
    const events = await Promise.all(
      [alicePhone, aliceOnB, bobPhone, bobOnB, carolOnB].map((socket) => socket.next(isCarolAdded)),
    );
    for (const event of events)
      expect(event).toEqual({
        type: 'members-changed',
        conversationId,
        memberIds: added.memberIds,
        added: [carol.id],
        removed: [],
        by: alice.id,
        membershipVersion: '2',
      });

    // Already a member: nothing changes, nobody is told.
    expect((await api.addMembers(session(alice), conversationId, [bob.id])).membershipVersion).toBe('2');

    const removed = await api.removeMember(session(alice), conversationId, bob.id);
    expect(removed.membershipVersion).toBe('3');
    const isBobRemoved = membersChanged(conversationId, (event) => event.removed.includes(bob.id));
    // Bob's devices hear they were removed; Carol (added in between) hears it too.
    await Promise.all([alicePhone, aliceOnB, bobPhone, bobOnB, carolOnB].map((socket) => socket.next(isBobRemoved)));

    // Dave, never a member, heard nothing of this conversation: his first members-changed is his own addition.
    await api.addMembers(session(alice), conversationId, [dave.id]);
    const first = await daveOnA.next((event) => event.type === 'members-changed');
    expect(first.added).toEqual([dave.id]);
    expect(daveOnA.events.filter((event) => event.type === 'members-changed')).toHaveLength(1);
    expect(bobPhone.events.filter((event) => event.added?.includes(dave.id))).toEqual([]);
  });

  it('refuses with 403, 404 and 400 as the contract says', async () => {
    const conversationId = await api.createConversation(session(alice), [bob.id, carol.id]);
    const path = `/v1/conversations/${conversationId}/members`;
    const answer = (server: ServerApp, method: string, user: TestUser, suffix = '', body?: unknown) =>
      call(server.url, method, `${path}${suffix}`, { token: user.token, body });

    const notAdmin = await answer(b, 'POST', bob, '', { userIds: [dave.id] });
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body.message).toMatch(/admin/);
    expect((await answer(a, 'DELETE', bob, `/${carol.id}`)).status).toBe(403);
    expect((await answer(a, 'DELETE', bob, `/${alice.id}`)).status).toBe(403); // nobody removes the admin
    for (const [method, suffix, body] of [
      ['POST', '', { userIds: [bob.id] }],
      ['DELETE', `/${bob.id}`, undefined],
    ] as const)
      expect((await answer(b, method, dave, suffix, body)).status).toBe(404); // outsiders: as if it did not exist
    expect((await answer(a, 'DELETE', alice, `/${dave.id}`)).status).toBe(404); // not a member
    const stranger = randomUUID();
    const unknown = await answer(a, 'POST', alice, '', { userIds: [dave.id, stranger] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain(stranger);
    expect((await answer(a, 'POST', alice, '', { userIds: ['nope'] })).status).toBe(400);
    expect((await answer(a, 'DELETE', alice, '/nope')).status).toBe(400);

    // The admin leaves: the longest-standing member (Bob, a creation member listed before Carol) takes over.
    const left = await api.removeMember(session(alice), conversationId, alice.id);
    const successor = left.memberIds[0];
    expect(left.adminId).toBe(successor);
    expect([bob.id, carol.id]).toContain(successor);
    const heir = successor === bob.id ? bob : carol;
    expect((await answer(b, 'POST', heir, '', { userIds: [dave.id] })).status).toBe(200);
  });

  it('a removed member is refused at once on the other instance, and a stale refill cannot bring it back', async () => {
    const conversationId = await api.createConversation(session(alice), [bob.id, carol.id]);
    const send = (server: ServerApp, user: TestUser) =>
      call(server.url, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: user.token,
        body: { clientMessageId: randomUUID(), ciphertext: 'AAAA' },
      });
    const history = (server: ServerApp, user: TestUser) =>
      call(server.url, 'GET', `/v1/conversations/${conversationId}/messages`, { token: user.token });
    // Instance B has Bob cached as a member.
    expect((await history(b, bob)).status).toBe(200);
    const before = await redis.get(RedisKeys.members(conversationId));
    expect(before).toMatch(/^1:/);

    const removed = await api.removeMember(session(alice), conversationId, bob.id);
    expect((await send(b, bob)).status).toBe(404);
    expect((await history(b, bob)).status).toBe(404);

    // A reader on B that loaded the members before the removal committed refills the cache now: refused.
    await b.app.get(MemberCache).offer(conversationId, '1', [alice.id, bob.id, carol.id]);
    expect(await redis.get(RedisKeys.members(conversationId))).toBe(
      `${removed.membershipVersion}:${removed.memberIds}`,
    );
    expect((await send(b, bob)).status).toBe(404);
    expect((await send(a, bob)).status).toBe(404);
    // The cache gone (expired, Redis restarted): the primary answers the same.
    await redis.del(RedisKeys.members(conversationId));
    expect((await send(b, bob)).status).toBe(404);
    expect((await send(b, carol)).status).toBe(202);

    const bobsList = await call(b.url, 'GET', '/v1/conversations', { token: bob.token });
    expect(bobsList.body.items.map((item: { id: string }) => item.id)).not.toContain(conversationId);
  });

  it('a member added later reads history from when it joined', async () => {
    const conversationId = await api.createConversation(session(alice), [bob.id]);
    const earlier = await storeFresh(conversationId, alice.id, 2);
    await api.addMembers(session(alice), conversationId, [carol.id]);
    const later = await storeFresh(conversationId, bob.id, 1);
    await replicaCaughtUp();
    const ids = async (user: TestUser, query: string) =>
      (
        await call(b.url, 'GET', `/v1/conversations/${conversationId}/messages${query}`, { token: user.token })
      ).body.items.map((item: { id: string }) => item.id);
    expect(await ids(carol, '')).toEqual(later);
    expect(await ids(carol, '?after=0')).toEqual(later);
    expect(await ids(alice, '?after=0')).toEqual([...earlier, ...later]);
  });

  it('an offline device catches up in one sync plus `after` pages, including its own removal and its mailbox', async () => {
    const [erin, frank] = await Promise.all([register(a.url, 'erin'), register(a.url, 'frank')]);
    const erinLaptop = await login(a.url, erin, 'laptop');
    const one = await api.createConversation(session(frank), [erin.id]);
    const two = await api.createConversation(session(erin), [frank.id, alice.id]);
    const three = await api.createConversation(session(frank), [erin.id]);
    const quiet = await api.createConversation(session(alice), [erin.id]);
    const old = await storeSettled(one, frank.id, 2);
    await settleMemberships([one, two, three, quiet]);
    await replicaCaughtUp();

    const scratch = await api.sync(session(erin));
    expect(scratch.conversations.map((c) => c.id).sort()).toEqual([one, two, three, quiet].sort());
    const oneThen = scratch.conversations.find((c) => c.id === one)!;
    expect(oneThen).toMatchObject({ newMessages: 2, pageFrom: '0' });
    expect(scratch.membershipChanges.filter((c) => c.userId === erin.id && c.change === 'added')).toHaveLength(4);
    expect(scratch.pendingDeviceMessages).toBe(0);

    // Erin's phone goes offline. Meanwhile: messages in two conversations, a removal, mail for both devices.
    const inOne = await storeFresh(one, frank.id, 3);
    const inTwo = await storeFresh(two, alice.id, 120);
    await api.removeMember(session(frank), three, erin.id);
    await mailboxItem(erin, erin.deviceId, frank, '1 day');
    await mailboxItem(erin, erin.deviceId, frank, '1 day');
    await mailboxItem(erin, erin.deviceId, frank, '-1 minute'); // expired: not waiting any more
    await mailboxItem(erin, erinLaptop.deviceId, frank, '1 day');
    await replicaCaughtUp();

    const caughtUp = await api.sync(session(erin), scratch.nextSince);
    const byId = new Map(caughtUp.conversations.map((c) => [c.id, c]));
    expect([...byId.keys()].sort()).toEqual([one, two].sort());
    expect(byId.get(one)).toMatchObject({ newMessages: 3, pageFrom: oneThen.latestCursor });
    expect(byId.get(two)!.newMessages).toBe(120);
    expect(caughtUp.membershipChanges).toEqual([
      { conversationId: three, userId: erin.id, change: 'removed', by: frank.id, at: expect.any(String) },
    ]);
    expect(caughtUp.pendingDeviceMessages).toBe(2);
    expect((await api.sync(session(erinLaptop), scratch.nextSince)).pendingDeviceMessages).toBe(1);

    const pagedOne = await api.historyAfter(session(erin), one, byId.get(one)!.pageFrom);
    expect(pagedOne.map((m) => m.id)).toEqual(inOne);
    expect(pagedOne.map((m) => m.id)).not.toContain(old[0]);
    const pagedTwo = await api.historyAfter(session(erin), two, byId.get(two)!.pageFrom);
    expect(pagedTwo.map((m) => m.id)).toEqual(inTwo);
    expect(pagedTwo.at(-1)!.seq).toBe(byId.get(two)!.latestCursor);

    // What was stored in the last seconds has not settled: the next sync reports it again rather than risk a skip.
    const again = await api.sync(session(erin), caughtUp.nextSince);
    expect(again.conversations.find((c) => c.id === one)?.newMessages).toBe(3);
    expect((await call(b.url, 'GET', `/v1/conversations/${three}/messages`, { token: erin.token })).status).toBe(404);
  });

  it('answers 400 with a reason for a cursor it did not write', async () => {
    for (const since of ['not*base64', Buffer.from('{"v":1,"m":"x","c":"0"}').toString('base64url'), 'e30']) {
      const answer = await call(b.url, 'GET', `/v1/sync?since=${encodeURIComponent(since)}`, { token: alice.token });
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(/^since is not a sync cursor: /);
    }
  });
});
