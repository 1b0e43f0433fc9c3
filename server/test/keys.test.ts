import { Client } from 'pg';
import type { ServerApp } from '../bootstrap';
import type { DatabaseService } from '../infrastructure/database.service';
import { KeysRepository } from '../keys/keys.repository';
import {
  RELAXED_LIMITS,
  call,
  conversationOf,
  env,
  login,
  publicKey,
  register,
  signature,
  sleep,
  sql,
  startServer,
  TestSocket,
  TestUser,
} from './helpers';

jest.setTimeout(60_000);

const signedKey = (keyId: number) => ({ keyId, publicKey: publicKey(), signature: signature() });

describe('the key directory', () => {
  let server: ServerApp;

  beforeAll(async () => {
    server = await startServer({
      rateLimits: {
        ...RELAXED_LIMITS,
        keyFetchPair: { limit: 3, windowSeconds: 60 },
        keyFetchTarget: { limit: 4, windowSeconds: 60 },
        identityKeyChange: { limit: 3, windowSeconds: 60 },
      },
    });
  });

  afterAll(() => server?.shutdown());

  const upload = (user: TestUser, body: Record<string, unknown>) =>
    call(server.url, 'PUT', '/v1/keys', {
      token: user.token,
      body: { signedPreKey: signedKey(1), oneTimePreKeys: [], ...body },
    });
  const preKeys = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ keyId: i + 1, publicKey: publicKey() }));
  const fetchBundle = (requester: TestUser, target: TestUser) =>
    call(server.url, 'GET', `/v1/users/${target.id}/keys`, { token: requester.token });
  const remaining = async (user: TestUser) =>
    (await call(server.url, 'GET', '/v1/keys', { token: user.token })).body.oneTimePreKeyCount;

  /** The bundle of the target's only device. */
  const single = async (requester: TestUser, target: TestUser) => {
    const answer = await fetchBundle(requester, target);
    expect(answer.status).toBe(200);
    expect(answer.body.devices).toHaveLength(1);
    return answer.body.devices[0];
  };
  const lastResortOf = (key: { keyId: number; publicKey: string; signature: string }) => ({ ...key, lastResort: true });

  describe('one-time prekeys', () => {
    it('limits fetches per (requester, target), so one requester cannot drain a target', async () => {
      const [bob, alice] = await Promise.all([register(server.url, 'bob'), register(server.url, 'alice')]);
      await upload(bob, { oneTimePreKeys: preKeys(10) });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetchBundle(alice, bob)).status);
      // Per requester only (the old rule, 60 a minute), all ten were gone within seconds.
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(await remaining(bob)).toBe(7);
    });

    it('hands out at most the per-device budget to all requesters together, then the last-resort key', async () => {
      const bob = await register(server.url, 'bob');
      const lastResortKey = signedKey(9999);
      await upload(bob, { oneTimePreKeys: preKeys(10), lastResortKey });
      const requesters = await Promise.all(Array.from({ length: 6 }, () => register(server.url, 'fetcher')));
      const bundles = [];
      for (const requester of requesters) bundles.push(await single(requester, bob));
      expect(bundles.map((bundle) => bundle.preKey.lastResort)).toEqual([false, false, false, false, true, true]);
      for (const bundle of bundles.slice(4)) expect(bundle.preKey).toEqual(lastResortOf(lastResortKey));
      expect(await remaining(bob)).toBe(6);
    });

    it('answers the last-resort key with a flag when none is left, and never consumes it', async () => {
      const bob = await register(server.url, 'bob');
      const lastResortKey = signedKey(4242);
      expect((await upload(bob, { oneTimePreKeys: preKeys(1), lastResortKey })).body).toEqual({
        oneTimePreKeyCount: 1,
        hasLastResortKey: true,
      });
      const [alice, carol, dave] = await Promise.all(
        ['alice', 'carol', 'dave'].map((name) => register(server.url, name)),
      );

      const first = await single(alice, bob);
      expect(first.preKey).toEqual({ keyId: 1, publicKey: expect.any(String), lastResort: false });
      for (const requester of [carol, dave, carol])
        expect((await single(requester, bob)).preKey).toEqual(lastResortOf(lastResortKey));

      // An upload without one keeps the stored last-resort key.
      expect((await upload(bob, { oneTimePreKeys: [] })).body).toEqual({
        oneTimePreKeyCount: 0,
        hasLastResortKey: true,
      });
      expect((await single(dave, bob)).preKey).toEqual(lastResortOf(lastResortKey));
    });

    it('answers no prekey for a device without a last-resort key', async () => {
      const [bob, alice] = await Promise.all([register(server.url, 'bob'), register(server.url, 'alice')]);
      await upload(bob, {});
      expect((await single(alice, bob)).preKey).toBeNull();
    });
  });

  describe('several devices', () => {
    it('answers one bundle per device, each taking its own one-time prekey, and keys go with a removed device', async () => {
      const bob = await register(server.url, 'bob');
      const [laptop, tablet] = [await login(server.url, bob, 'laptop'), await login(server.url, bob, 'tablet')];
      const alice = await register(server.url, 'alice');
      await upload(bob, { signedPreKey: signedKey(11), oneTimePreKeys: preKeys(12), lastResortKey: signedKey(111) });
      await upload(laptop, { signedPreKey: signedKey(22), oneTimePreKeys: preKeys(3), lastResortKey: signedKey(222) });
      // The tablet publishes nothing: it is left out until it does.

      const socket = await TestSocket.open(server.url, laptop.token);
      const phoneSocket = await TestSocket.open(server.url, bob.token);
      try {
        const answer = await fetchBundle(alice, bob);
        expect(answer.status).toBe(200);
        expect(answer.body.identityKey).toEqual(expect.any(String));
        expect(answer.body.devices.map((device: any) => [device.deviceId, device.signedPreKey.keyId])).toEqual([
          [bob.deviceId, 11],
          [laptop.deviceId, 22],
        ]);
        expect(answer.body.devices.map((device: any) => device.preKey.lastResort)).toEqual([false, false]);
        // Each device counts its own keys: the phone had 12, the laptop 3.
        expect(await remaining(bob)).toBe(11);
        expect(await remaining(laptop)).toBe(2);
        expect(await remaining(tablet)).toBe(0);

        // The laptop, now under 10, is told to upload more; the phone (11 left) is not.
        expect(await socket.next((event) => event.type === 'prekeys-low')).toEqual({
          type: 'prekeys-low',
          remaining: 2,
        });
        await sleep(200);
        expect(phoneSocket.events.filter((event) => event.type === 'prekeys-low')).toEqual([]);

        // A removed device's bundle and prekeys are gone with it.
        expect((await call(server.url, 'DELETE', `/v1/devices/${laptop.deviceId}`, { token: bob.token })).status).toBe(
          204,
        );
        const after = await fetchBundle(alice, bob);
        expect(after.body.devices.map((device: any) => device.deviceId)).toEqual([bob.deviceId]);
        expect(
          await sql('primary', 'SELECT 1 FROM one_time_prekeys WHERE user_id = $1 AND device_id = $2', [
            bob.id,
            laptop.deviceId,
          ]),
        ).toEqual([]);
      } finally {
        socket.close();
        phoneSocket.close();
      }
    });
  });

  describe('taking one-time prekeys', () => {
    // The statement runs on a connection whose planner may only choose nested loops without sorts or hashes: the
    // plan under which a delete of `id IN (SELECT ... LIMIT 1 SKIP LOCKED)` rescans its subquery per row.
    it('takes exactly one key per device whatever plan PostgreSQL chooses', async () => {
      const bob = await register(server.url, 'bob');
      const laptop = await login(server.url, bob, 'laptop');
      await upload(bob, { signedPreKey: signedKey(11), oneTimePreKeys: preKeys(10), lastResortKey: signedKey(111) });
      await upload(laptop, { signedPreKey: signedKey(22), oneTimePreKeys: preKeys(10), lastResortKey: signedKey(222) });
      const client = new Client({ connectionString: env().DATABASE_URL });
      await client.connect();
      try {
        for (const setting of ['hashjoin', 'mergejoin', 'hashagg', 'sort', 'material'])
          await client.query(`SET enable_${setting} = off`);
        const db = { primary: (text: string, params?: unknown[]) => client.query(text, params) };
        const taken = await new KeysRepository(db as unknown as DatabaseService).takeBundles(bob.id, [
          bob.deviceId,
          laptop.deviceId,
        ]);
        expect(taken.map((bundle) => [bundle.deviceId, bundle.preKey?.keyId, bundle.preKey?.lastResort])).toEqual([
          [bob.deviceId, 1, false],
          [laptop.deviceId, 1, false],
        ]);
      } finally {
        await client.end();
      }
      expect(await remaining(bob)).toBe(9);
      expect(await remaining(laptop)).toBe(9);
    });
  });

  describe('identity key', () => {
    const identity = async (user: TestUser) =>
      (await call(server.url, 'GET', `/v1/users/${user.id}`, { token: user.token })).body.identityKey;

    it('refuses to replace the identity key without the password (403 with the reason)', async () => {
      const bob = await register(server.url, 'bob');
      const before = await identity(bob);
      const missing = await upload(bob, { identityKey: publicKey() });
      // With just the access token (the old rule), this replaced the key silently.
      expect(missing.status).toBe(403);
      expect(missing.body.message).toMatch(/requires the account password/);
      const wrong = await upload(bob, { identityKey: publicKey(), password: 'not-the-password' });
      expect(wrong.status).toBe(403);
      expect(wrong.body.message).toMatch(/password is wrong/);
      expect(await identity(bob)).toBe(before);
      // The key already stored is no change: no password needed.
      expect((await upload(bob, { identityKey: before })).status).toBe(200);
    });

    it('limits wrong passwords for identity changes per session, without locking the owner out', async () => {
      const bob = await register(server.url, 'bob');
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await upload(bob, { identityKey: publicKey(), password: 'not-the-password' })).status);
      expect(statuses).toEqual([403, 403, 403, 429]);
      // The owner, on a session of their own, still changes the key with the right password.
      const login = await call(server.url, 'POST', '/v1/auth/login', {
        body: { username: bob.username, password: bob.password },
      });
      expect(login.status).toBe(200);
      const owner = { ...bob, token: login.body.accessToken as string };
      expect((await upload(owner, { identityKey: publicKey(), password: bob.password })).status).toBe(200);
    });

    it('does not count a right password against the session', async () => {
      const bob = await register(server.url, 'bob');
      for (let i = 0; i < 4; i++)
        expect((await upload(bob, { identityKey: publicKey(), password: bob.password })).status).toBe(200);
    });

    it('replaces it with the password and tells everyone who shares a conversation with the user', async () => {
      const [bob, carol, erin, dave] = await Promise.all(
        ['bob', 'carol', 'erin', 'dave'].map((name) => register(server.url, name)),
      );
      await conversationOf(server.url, bob, [carol]);
      await conversationOf(server.url, erin, [bob, carol]);
      const [carolSocket, erinSocket, daveSocket, bobOtherDevice] = await Promise.all(
        [carol, erin, dave, bob].map((user) => TestSocket.open(server.url, user.token)),
      );
      try {
        const identityKey = publicKey();
        expect((await upload(bob, { identityKey, password: bob.password })).status).toBe(200);
        expect(await identity(bob)).toBe(identityKey);
        const expected = { type: 'identity-changed', userId: bob.id, identityKey, changedAt: expect.any(String) };
        for (const socket of [carolSocket, erinSocket, bobOtherDevice])
          expect(await socket.next((event) => event.type === 'identity-changed')).toEqual(expected);
        await sleep(300);
        expect(daveSocket.events.filter((event) => event.type === 'identity-changed')).toEqual([]);
      } finally {
        for (const socket of [carolSocket, erinSocket, daveSocket, bobOtherDevice]) socket.close();
      }
    });
  });
});
