import { randomBytes, randomUUID } from 'node:crypto';
import { messageIdFor } from '../../common/contracts/message-id';
import type { ServerApp } from '../bootstrap';
import { DevicesRepository, PasswordChangedError } from '../devices/devices.repository';
import {
  call,
  conversationOf,
  privateQueue,
  publicKey,
  register,
  replicaCaughtUp,
  signature,
  startServer,
  storeMessage,
  tag,
  TestUser,
} from './helpers';

jest.setTimeout(60_000);

/** Every endpoint's success and failure paths, against one instance on the real services. */
describe('API v1', () => {
  let server: ServerApp;
  let base: string;
  let queue: Awaited<ReturnType<typeof privateQueue>>;

  beforeAll(async () => {
    queue = await privateQueue();
    server = await startServer({ env: { SQS_MESSAGES_QUEUE_URL: queue.url } });
    base = server.url;
  });

  afterAll(async () => {
    await server?.shutdown();
    await queue?.remove();
  });

  const expectError = (answer: { status: number; body: any }, status: number, message?: RegExp) => {
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String) });
    if (message) expect(answer.body.message).toMatch(message);
  };

  describe('auth', () => {
    it('registers, logs in case-insensitively, and refuses a taken username in any case', async () => {
      const username = `Alice_${tag()}`;
      const created = await call(base, 'POST', '/v1/auth/register', {
        body: { username, password: 'correct horse', identityKey: publicKey() },
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        user: expect.objectContaining({ id: expect.any(String), username }),
        deviceId: 1,
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
      });
      expect(created.body.user).not.toHaveProperty('passwordHash');

      const [row] = await import('./helpers').then(({ sql }) =>
        sql('primary', 'SELECT password_hash FROM users WHERE id = $1', [created.body.user.id]),
      );
      expect(row.password_hash).toMatch(/^\$argon2id\$/);

      expectError(
        await call(base, 'POST', '/v1/auth/register', {
          body: { username: username.toUpperCase(), password: 'another one', identityKey: publicKey() },
        }),
        409,
        /taken/,
      );

      const login = await call(base, 'POST', '/v1/auth/login', {
        body: { username: username.toLowerCase(), password: 'correct horse' },
      });
      expect(login.status).toBe(200);
      expect(login.body.user.id).toBe(created.body.user.id);
      expect(login.body.deviceId).toBe(2);
      expectError(
        await call(base, 'POST', '/v1/auth/login', { body: { username, password: 'wrong password' } }),
        401,
        /invalid username or password/,
      );
      expectError(
        await call(base, 'POST', '/v1/auth/login', { body: { username: `nobody_${tag()}`, password: 'whatever1' } }),
        401,
      );
    });

    it('validates registration input', async () => {
      const valid = { username: `v_${tag()}`, password: 'password123', identityKey: publicKey() };
      expectError(
        await call(base, 'POST', '/v1/auth/register', { body: { ...valid, username: 'a b' } }),
        400,
        /username/,
      );
      expectError(
        await call(base, 'POST', '/v1/auth/register', { body: { ...valid, password: 'short' } }),
        400,
        /password/,
      );
      expectError(
        await call(base, 'POST', '/v1/auth/register', {
          body: { ...valid, identityKey: 'not base64 at all!!!!!!!!!!!!!!!!!!!!!' },
        }),
        400,
        /identityKey/,
      );
      expectError(
        await call(base, 'POST', '/v1/auth/register', { body: { ...valid, password: 12345678 } }),
        400,
        /password/,
      );
      expectError(
        await call(base, 'POST', '/v1/auth/register', { body: { ...valid, admin: true } }),
        400,
        /admin should not exist/,
      );
      expectError(await call(base, 'POST', '/v1/auth/register', { body: '{"username": "x",' }), 400, /Malformed JSON/);
      expectError(await call(base, 'POST', '/v1/auth/register', { body: '[1,2]' }), 400, /JSON object/);
      expectError(
        await call(base, 'POST', '/v1/auth/register', {
          body: 'username=x',
          headers: { 'content-type': 'text/plain' },
        }),
        415,
      );
      expectError(
        await call(base, 'POST', '/v1/auth/register', { body: { ...valid, pad: 'x'.repeat(200 * 1024) } }),
        413,
      );
    });

    it('logout removes that device only', async () => {
      const user = await register(base);
      const second = await call(base, 'POST', '/v1/auth/login', {
        body: { username: user.username, password: user.password },
      });
      expect((await call(base, 'POST', '/v1/auth/logout', { token: user.token })).status).toBe(204);
      expectError(await call(base, 'GET', '/v1/users/me', { token: user.token }), 401, /device was removed/);
      expect((await call(base, 'GET', '/v1/users/me', { token: second.body.accessToken })).status).toBe(200);
    });

    it('catches a spent refresh token however many trades came since, and trades a quick retry again', async () => {
      const refresh = (refreshToken: string) => call(base, 'POST', '/v1/auth/refresh', { body: { refreshToken } });
      const thief = await register(base);
      let latest = thief.refreshToken;
      // Whoever holds a copy trades it 25 times (more than any list of spent tokens would keep)...
      for (let i = 0; i < 25; i++) latest = (await refresh(latest)).body.refreshToken;
      // ...and the owner's next refresh, with the copy, still gives it away: the device is removed.
      expectError(await refresh(thief.refreshToken), 401, /already used/);
      expectError(await refresh(latest), 401);

      const owner = await register(base);
      const lost = await refresh(owner.refreshToken); // the answer never reached the client
      const retried = await refresh(owner.refreshToken);
      expect([lost.status, retried.status]).toEqual([200, 200]);
      expect((await refresh(retried.body.refreshToken)).status).toBe(200);
      // The token in the lost answer is an older generation now: presenting it means a copy exists.
      expectError(await refresh(lost.body.refreshToken), 401, /already used/);
    });

    it('caps an account at 10 live devices, and a login whose password changed meanwhile makes none', async () => {
      const user = await register(base);
      const logins = [];
      for (let i = 0; i < 9; i++)
        logins.push(
          await call(base, 'POST', '/v1/auth/login', { body: { username: user.username, password: user.password } }),
        );
      expect(logins.map((answer) => answer.status)).toEqual(Array(9).fill(200));
      const full = await call(base, 'POST', '/v1/auth/login', {
        body: { username: user.username, password: user.password },
      });
      expectError(full, 409, /10 devices/);
      expect((await call(base, 'DELETE', `/v1/devices/${logins[0].body.deviceId}`, { token: user.token })).status).toBe(
        204,
      );
      const again = await call(base, 'POST', '/v1/auth/login', {
        body: { username: user.username, password: user.password },
      });
      expect(again.body.deviceId).toBe(11);

      // The hash a login checked is the one its device is made against.
      await expect(
        server.app.get(DevicesRepository).create(user.id, 'late', 60, 'a hash replaced meanwhile'),
      ).rejects.toBeInstanceOf(PasswordChangedError);
    });

    it('refuses missing, malformed and forged tokens', async () => {
      expectError(await call(base, 'GET', '/v1/users/me'), 401, /missing/);
      expectError(await call(base, 'GET', '/v1/users/me', { token: 'abc.def.ghi' }), 401);
      const user = await register(base);
      const [header, payload] = user.token.split('.');
      expectError(
        await call(base, 'GET', '/v1/users/me', {
          token: `${header}.${payload}.${randomBytes(32).toString('base64url')}`,
        }),
        401,
      );
    });
  });

  describe('users', () => {
    it('serves me and public profiles, and 404/400 for unknown or malformed ids', async () => {
      const alice = await register(base, 'alice');
      const bob = await register(base, 'bob');
      const me = await call(base, 'GET', '/v1/users/me', { token: alice.token });
      expect(me.body).toMatchObject({ id: alice.id, username: alice.username });
      const profile = await call(base, 'GET', `/v1/users/${alice.id}`, { token: bob.token });
      expect(profile.status).toBe(200);
      expect(Object.keys(profile.body).sort()).toEqual(['createdAt', 'displayName', 'id', 'identityKey', 'username']);
      expectError(await call(base, 'GET', `/v1/users/${randomUUID()}`, { token: bob.token }), 404);
      expectError(await call(base, 'GET', '/v1/users/not-a-uuid', { token: bob.token }), 400, /uuid/);
    });

    it('finds a user by username, case-insensitively, and says 404/400/401 otherwise', async () => {
      const alice = await register(base, 'alice');
      const bob = await register(base, 'bob');
      const found = await call(base, 'GET', `/v1/usernames/${alice.username.toUpperCase()}`, {
        token: bob.token,
      });
      expect(found.status).toBe(200);
      expect(found.body).toMatchObject({ id: alice.id, username: alice.username });
      expect(Object.keys(found.body).sort()).toEqual(['createdAt', 'displayName', 'id', 'identityKey', 'username']);
      expectError(await call(base, 'GET', '/v1/usernames/nobody_here_at_all', { token: bob.token }), 404);
      expectError(await call(base, 'GET', '/v1/usernames/no%20spaces', { token: bob.token }), 400);
      expectError(await call(base, 'GET', `/v1/usernames/${alice.username}`), 401);
    });

    it('invalidates the cached profile on change', async () => {
      const alice = await register(base, 'alice');
      await call(base, 'GET', `/v1/users/${alice.id}`, { token: alice.token }); // now cached
      const changed = await call(base, 'PATCH', '/v1/users/me', {
        token: alice.token,
        body: { displayName: 'Alice A.' },
      });
      expect(changed.body.displayName).toBe('Alice A.');
      expect((await call(base, 'GET', `/v1/users/${alice.id}`, { token: alice.token })).body.displayName).toBe(
        'Alice A.',
      );
    });

    it('a password change removes every other device; the one that changed it stays', async () => {
      const user = await register(base);
      const other = await call(base, 'POST', '/v1/auth/login', {
        body: { username: user.username, password: user.password },
      });
      expectError(
        await call(base, 'PUT', '/v1/users/me/password', {
          token: user.token,
          body: { currentPassword: 'wrong-password', newPassword: 'new-password-1' },
        }),
        401,
      );
      expect(
        (
          await call(base, 'PUT', '/v1/users/me/password', {
            token: user.token,
            body: { currentPassword: user.password, newPassword: 'new-password-1' },
          })
        ).status,
      ).toBe(204);
      expect((await call(base, 'GET', '/v1/users/me', { token: user.token })).status).toBe(200);
      expectError(await call(base, 'GET', '/v1/users/me', { token: other.body.accessToken }), 401);
      expect((await call(base, 'GET', '/v1/devices', { token: user.token })).body).toEqual([
        expect.objectContaining({ id: user.deviceId, current: true }),
      ]);
      expect(
        (await call(base, 'POST', '/v1/auth/login', { body: { username: user.username, password: 'new-password-1' } }))
          .status,
      ).toBe(200);
    });
  });

  describe('keys', () => {
    const upload = (user: TestUser, keyIds: number[]) =>
      call(base, 'PUT', '/v1/keys', {
        token: user.token,
        body: {
          signedPreKey: { keyId: 1, publicKey: publicKey(), signature: signature() },
          oneTimePreKeys: keyIds.map((keyId) => ({ keyId, publicKey: publicKey() })),
        },
      });

    it('publishes a bundle and hands out each one-time prekey once, even to concurrent fetches', async () => {
      const bob = await register(base, 'bob');
      const alice = await register(base, 'alice');
      const ids = Array.from({ length: 20 }, (_, i) => i + 1);
      expect((await upload(bob, ids)).body).toEqual({ oneTimePreKeyCount: 20, hasLastResortKey: false });
      const fetches = await Promise.all(
        Array.from({ length: 25 }, () => call(base, 'GET', `/v1/users/${bob.id}/keys`, { token: alice.token })),
      );
      expect(fetches.every((answer) => answer.status === 200)).toBe(true);
      const preKeys = fetches.map((answer) => answer.body.devices[0].preKey);
      const handed = preKeys.filter(Boolean).map((key: any) => key.keyId);
      expect(handed.sort((a, b) => a - b)).toEqual(ids);
      expect(preKeys.filter((key) => key === null)).toHaveLength(5);
      expect(fetches[0].body).toMatchObject({
        userId: bob.id,
        identityKey: expect.any(String),
        devices: [
          {
            deviceId: bob.deviceId,
            signedPreKey: { keyId: 1, publicKey: expect.any(String), signature: expect.any(String) },
          },
        ],
      });
      expect((await call(base, 'GET', '/v1/keys', { token: bob.token })).body).toEqual({
        oneTimePreKeyCount: 0,
        hasLastResortKey: false,
      });
    });

    it('refuses bad uploads and unknown bundles', async () => {
      const bob = await register(base, 'bob');
      expectError(
        await call(base, 'PUT', '/v1/keys', { token: bob.token, body: { oneTimePreKeys: [] } }),
        400,
        /signedPreKey/,
      );
      expectError(
        await upload(
          bob,
          Array.from({ length: 101 }, (_, i) => i),
        ),
        400,
        /oneTimePreKeys/,
      );
      expectError(
        await call(base, 'PUT', '/v1/keys', {
          token: bob.token,
          body: { signedPreKey: { keyId: -1, publicKey: publicKey(), signature: signature() }, oneTimePreKeys: [] },
        }),
        400,
        /keyId/,
      );
      expectError(await call(base, 'GET', `/v1/users/${bob.id}/keys`, { token: bob.token }), 404);
    });
  });

  describe('conversations', () => {
    it('creates, lists with a cursor, and hides conversations from non-members', async () => {
      const [alice, bob, carol] = await Promise.all([
        register(base, 'alice'),
        register(base, 'bob'),
        register(base, 'carol'),
      ]);
      const created = await call(base, 'POST', '/v1/conversations', {
        token: alice.token,
        body: { memberIds: [bob.id], title: 'hi' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id: expect.any(String),
        title: 'hi',
        createdBy: alice.id,
        memberIds: [alice.id, bob.id],
      });
      const ids = [created.body.id];
      for (let i = 0; i < 4; i++) ids.push(await conversationOf(base, alice, [i % 2 ? bob : carol]));

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await call(base, 'GET', `/v1/conversations?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
          token: alice.token,
        });
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((item: any) => item.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...ids].reverse());
      expect((await call(base, 'GET', '/v1/conversations', { token: carol.token })).body.items).toHaveLength(2);

      expectError(
        await call(base, 'GET', `/v1/conversations/${created.body.id}/messages`, { token: carol.token }),
        404,
        /conversation not found/,
      );
      expectError(await call(base, 'GET', '/v1/conversations?cursor=bogus', { token: alice.token }), 400, /cursor/);
      expectError(await call(base, 'GET', '/v1/conversations?limit=0', { token: alice.token }), 400, /limit/);
      expectError(await call(base, 'GET', '/v1/conversations?limit=abc', { token: alice.token }), 400, /limit/);
      expectError(await call(base, 'GET', '/v1/conversations?sort=asc', { token: alice.token }), 400, /sort/);
    });

    it('refuses bad member lists', async () => {
      const alice = await register(base, 'alice');
      expectError(
        await call(base, 'POST', '/v1/conversations', { token: alice.token, body: { memberIds: [] } }),
        400,
        /memberIds/,
      );
      expectError(
        await call(base, 'POST', '/v1/conversations', { token: alice.token, body: { memberIds: ['x'] } }),
        400,
        /uuid/,
      );
      expectError(
        await call(base, 'POST', '/v1/conversations', { token: alice.token, body: { memberIds: [alice.id] } }),
        400,
        /other user/,
      );
      expectError(
        await call(base, 'POST', '/v1/conversations', { token: alice.token, body: { memberIds: [randomUUID()] } }),
        400,
        /unknown users/,
      );
      expectError(
        await call(base, 'POST', '/v1/conversations', { token: alice.token, body: { memberIds: 'abc' } }),
        400,
      );
    });
  });

  describe('messages', () => {
    let alice: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    let conversationId: string;

    beforeAll(async () => {
      [alice, bob, carol] = await Promise.all([
        register(base, 'alice'),
        register(base, 'bob'),
        register(base, 'carol'),
      ]);
      conversationId = await conversationOf(base, alice, [bob]);
    });

    it('accepts a send with 202 once it is in SQS, idempotently by clientMessageId', async () => {
      const clientMessageId = randomUUID();
      const ciphertext = randomBytes(64).toString('base64');
      const first = await call(base, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: alice.token,
        body: { clientMessageId, ciphertext },
      });
      expect(first.status).toBe(202);
      expect(first.body).toEqual({
        id: messageIdFor(alice.id, conversationId, clientMessageId),
        conversationId,
        status: 'queued',
      });
      const again = await call(base, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: alice.token,
        body: { clientMessageId, ciphertext },
      });
      expect(again.body.id).toBe(first.body.id);

      const bodies = (await queue.receiveAll(1_500)).filter((body) => body.clientMessageId === clientMessageId);
      // Both sends carry the same id, the FIFO queue's deduplication id: the retry's copy is dropped by the queue
      // (within its five-minute window; after it, the worker's unique key keeps one row).
      expect(bodies).toHaveLength(1);
      expect(bodies[0]).toEqual({
        v: 1,
        id: first.body.id,
        conversationId,
        senderId: alice.id,
        senderDeviceId: alice.deviceId,
        clientMessageId,
        ciphertext,
        sentAt: expect.any(String),
        memberIds: expect.arrayContaining([alice.id, bob.id]),
      });
      expect(bodies[0].memberIds).toHaveLength(2);
    });

    it('refuses non-members, bad ids and bad payloads', async () => {
      const send = (token: string, body: unknown, id = conversationId) =>
        call(base, 'POST', `/v1/conversations/${id}/messages`, { token, body });
      const ok = { clientMessageId: randomUUID(), ciphertext: 'AAAA' };
      expectError(await send(carol.token, ok), 404, /conversation not found/);
      expectError(await send(alice.token, ok, randomUUID()), 404, /conversation not found/);
      expectError(await send(alice.token, ok, 'nope'), 400, /uuid/);
      expectError(await send(alice.token, { ...ok, clientMessageId: 'abc' }), 400, /clientMessageId/);
      expectError(await send(alice.token, { ...ok, ciphertext: 'not base64!' }), 400, /base64/);
      expectError(await send(alice.token, { ...ok, ciphertext: '' }), 400, /ciphertext/);
      expectError(await send(alice.token, { ...ok, ciphertext: 42 }), 400, /ciphertext/);
      expectError(
        await send(alice.token, { ...ok, ciphertext: randomBytes(64 * 1024 + 3).toString('base64') }),
        400,
        /64 KiB/,
      );
      expectError(await send(alice.token, { ...ok, ciphertext: randomBytes(120 * 1024).toString('base64') }), 413);
      expectError(await send(alice.token, { ...ok, plaintext: 'hi' }), 400, /plaintext should not exist/);
      // At the limit is fine.
      expect((await send(alice.token, { ...ok, ciphertext: randomBytes(64 * 1024).toString('base64') })).status).toBe(
        202,
      );
    });

    it('serves history newest first with a cursor, to members only', async () => {
      const stored = [];
      for (let i = 0; i < 5; i++) stored.push(await storeMessage(conversationId, i % 2 ? bob.id : alice.id));
      await replicaCaughtUp();
      const first = await call(base, 'GET', `/v1/conversations/${conversationId}/messages?limit=3`, {
        token: bob.token,
      });
      expect(first.status).toBe(200);
      expect(first.body.items.map((m: any) => m.id)).toEqual(
        stored
          .slice(2)
          .reverse()
          .map((m) => m.id),
      );
      expect(first.body.items[0]).toEqual({
        id: stored[4].id,
        seq: stored[4].seq,
        conversationId,
        senderId: alice.id,
        senderDeviceId: 1,
        clientMessageId: expect.any(String),
        ciphertext: expect.any(String),
        sentAt: expect.any(String),
        storedAt: expect.any(String),
      });
      const second = await call(
        base,
        'GET',
        `/v1/conversations/${conversationId}/messages?limit=3&before=${first.body.nextCursor}`,
        { token: bob.token },
      );
      expect(second.body.items.map((m: any) => m.id)).toEqual(
        stored
          .slice(0, 2)
          .reverse()
          .map((m) => m.id),
      );
      expect(second.body.nextCursor).toBeNull();

      expectError(await call(base, 'GET', `/v1/conversations/${conversationId}/messages`, { token: carol.token }), 404);
      expectError(
        await call(base, 'GET', `/v1/conversations/${conversationId}/messages?limit=101`, { token: bob.token }),
        400,
        /limit/,
      );
      expectError(
        await call(base, 'GET', `/v1/conversations/${conversationId}/messages?before=-1`, { token: bob.token }),
        400,
        /before/,
      );
    });

    it('records read receipts forward only', async () => {
      const older = await storeMessage(conversationId, alice.id);
      const newer = await storeMessage(conversationId, alice.id);
      const read = (token: string, upToMessageId: string) =>
        call(base, 'POST', `/v1/conversations/${conversationId}/read`, { token, body: { upToMessageId } });
      expect((await read(bob.token, newer.id)).status).toBe(204);
      expect((await read(bob.token, older.id)).status).toBe(204);
      const [member] = await import('./helpers').then(({ sql }) =>
        sql(
          'primary',
          'SELECT last_read_message_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
          [conversationId, bob.id],
        ),
      );
      expect(member.last_read_message_id).toBe(newer.id);
      expectError(await read(bob.token, randomUUID()), 404, /message not found/);
      expectError(await read(carol.token, newer.id), 404, /conversation not found/);
      expectError(await read(bob.token, 'x'), 400, /upToMessageId/);
    });
  });

  describe('operations', () => {
    it('answers shallow health, readiness per dependency, metrics and the OpenAPI document', async () => {
      const live = await call(base, 'GET', '/health');
      expect(live.status).toBe(200);
      expect(live.body.status).toBe('ok');
      const ready = await call(base, 'GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        status: 'ok',
        checks: {
          primary: { status: 'up' },
          replica: { status: 'up' },
          redis: { status: 'up' },
          sqs: { status: 'up' },
        },
      });

      const metrics = await call(base, 'GET', '/metrics');
      expect(metrics.status).toBe(200);
      for (const name of [
        'cyphr_http_requests_total',
        'cyphr_http_request_duration_seconds_bucket',
        'cyphr_websocket_connections',
        'cyphr_queue_send_duration_seconds',
        'cyphr_cache_requests_total',
      ]) {
        expect(metrics.body).toContain(name);
      }
      expect(metrics.body).toMatch(/cyphr_http_requests_total\{method="GET",route="\/v1\/users\/:id",status="200"\}/);

      const openapi = await call(base, 'GET', '/v1/openapi.json');
      expect(openapi.status).toBe(200);
      expect(Object.keys(openapi.body.paths)).toEqual(
        expect.arrayContaining(['/v1/auth/register', '/v1/conversations/{id}/messages', '/v1/users/{id}/keys']),
      );
    });

    it('answers unknown routes with the error shape and echoes a request id', async () => {
      const answer = await call(base, 'GET', '/v1/nope', { headers: { 'x-request-id': 'trace-12345678' } });
      expectError(answer, 404);
      expect(answer.headers.get('x-request-id')).toBe('trace-12345678');
      // Without a usable one the request gets Fastify's id (a uuid), and only one X-Request-Id header carries it.
      const fresh = await call(base, 'GET', '/v1/nope', { headers: { 'x-request-id': 'short' } });
      expect(fresh.headers.get('x-request-id')).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
    });
  });
});
