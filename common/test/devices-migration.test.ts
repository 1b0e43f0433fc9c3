import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { parseEnvFile } from '../config/local-env-file';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../config/database-options';
import { validateEnvironment } from '../config/environment';
import { MigrateSettings } from '../config/migrate-settings';
import { MIGRATIONS } from '../database/migrations';
import { Devices1764000400000 } from '../database/migrations/1764000400000-devices';
import { JwtKeyring } from '../../server/auth/jwt-keyring';
import { PasswordHasher } from '../../server/auth/password-hasher';
import type { ServerApp } from '../../server/bootstrap';
import { call, startServer } from '../../server/test/helpers';

jest.setTimeout(60_000);

// The upgrade to devices on a database that already has accounts, sessions, keys and messages: it must keep them.
const services = process.env;
const database = `cyphr_devices_${randomUUID().slice(0, 8)}`;
const withDatabase = (url: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
};
const primaryUrl = withDatabase(services.DATABASE_URL!);
const replicaUrl = withDatabase(services.DATABASE_REPLICA_URLS!.split(',')[0]);
/** Creating a database takes the local superuser; everything in it runs as the application's own user. */
async function asSuperuser(text: string): Promise<void> {
  const { PG_SUPERUSER_PASSWORD } = parseEnvFile(readFileSync(join(__dirname, '../../.local/secrets.env'), 'utf8'));
  const owner = new URL(services.DATABASE_URL!);
  const client = new Client({
    host: owner.hostname,
    port: Number(owner.port),
    database: 'postgres',
    user: 'postgres',
    password: PG_SUPERUSER_PASSWORD,
  });
  await client.connect();
  try {
    await client.query(text.replace('$OWNER', decodeURIComponent(owner.username)));
  } finally {
    await client.end();
  }
}
const BEFORE_DEVICES = MIGRATIONS.findIndex((migration) => migration === Devices1764000400000);

async function query<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: primaryUrl });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

function dataSource(migrations: typeof MIGRATIONS): DataSource {
  const env = validateEnvironment(MigrateSettings, {
    ...services,
    DATABASE_URL: primaryUrl,
    DATABASE_REPLICA_URLS: '',
  });
  return new DataSource({ ...buildDataSourceOptions(env, {}, { poolSize: 1 }), migrations });
}

describe('the devices migration on a database with data', () => {
  let phone: { user: string; sessions: string[] };
  let dormant: string;
  let conversation: string;
  let server: ServerApp | undefined;

  beforeAll(async () => {
    await asSuperuser(`CREATE DATABASE ${database} OWNER "$OWNER"`);
    const before = dataSource(MIGRATIONS.slice(0, BEFORE_DEVICES));
    await before.initialize();
    await before.runMigrations({ transaction: 'each' });
    await before.destroy();

    // Alice: logged in on two devices (sessions), one older session revoked; keys and a message.
    // Bob: registered long ago, no live session.
    const [alice] = await query(
      `INSERT INTO users (username, password_hash, identity_key) VALUES ('alice', 'h', 'k') RETURNING id`,
    );
    const [bob] = await query(
      `INSERT INTO users (username, password_hash, identity_key) VALUES ('bob', 'h', 'k') RETURNING id`,
    );
    const sessions = [randomUUID(), randomUUID(), randomUUID()];
    await query(
      `INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at) VALUES
         ($1, $4, now() - interval '3 days', now() + interval '1 hour', now() - interval '1 day'),
         ($2, $4, now() - interval '2 days', now() + interval '1 hour', NULL),
         ($3, $4, now() - interval '1 day', now() + interval '1 hour', NULL)`,
      [...sessions, alice.id],
    );
    for (const user of [alice.id, bob.id]) {
      await query(
        `INSERT INTO key_bundles (user_id, signed_prekey_id, signed_prekey, signed_prekey_signature) VALUES ($1, 7, 'p', 's')`,
        [user],
      );
      await query(`INSERT INTO one_time_prekeys (user_id, key_id, public_key) VALUES ($1, 1, 'a'), ($1, 2, 'b')`, [
        user,
      ]);
    }
    [{ id: conversation }] = await query(`INSERT INTO conversations (created_by) VALUES ($1) RETURNING id`, [alice.id]);
    await query(`INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2), ($1, $3)`, [
      conversation,
      alice.id,
      bob.id,
    ]);
    await query(
      `INSERT INTO messages (id, conversation_id, sender_id, client_message_id, ciphertext, sent_at)
       VALUES (gen_random_uuid(), $1, $2, gen_random_uuid(), 'c', now())`,
      [conversation, alice.id],
    );
    phone = { user: alice.id, sessions: sessions.slice(1) };
    dormant = bob.id;

    const after = dataSource(MIGRATIONS);
    await after.initialize();
    expect((await after.runMigrations({ transaction: 'each' })).map((migration) => migration.name)).toEqual(
      MIGRATIONS.slice(BEFORE_DEVICES).map((migration) => new migration().name),
    );
    await after.destroy();
  });

  afterAll(async () => {
    await server?.shutdown();
    await asSuperuser(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('turns live sessions into devices 1, 2 in login order, gives every other account a device 1, keeps all keys', async () => {
    expect(
      await query(
        `SELECT user_id, id, session_id, name, removed_at IS NOT NULL AS removed, refresh_token_hash IS NULL AS awaiting
         FROM devices ORDER BY user_id = $1 DESC, id`,
        [phone.user],
      ),
    ).toEqual([
      { user_id: phone.user, id: 1, session_id: phone.sessions[0], name: 'device 1', removed: false, awaiting: true },
      { user_id: phone.user, id: 2, session_id: phone.sessions[1], name: 'device 2', removed: false, awaiting: true },
      { user_id: dormant, id: 1, session_id: expect.any(String), name: 'device 1', removed: false, awaiting: true },
    ]);
    // Every account's keys are its device 1's, and stay published while the account comes back.
    expect(
      await query(`SELECT user_id, device_id, signed_prekey_id FROM key_bundles ORDER BY user_id = $1 DESC`, [
        phone.user,
      ]),
    ).toEqual([
      { user_id: phone.user, device_id: 1, signed_prekey_id: 7 },
      { user_id: dormant, device_id: 1, signed_prekey_id: 7 },
    ]);
    expect(await query(`SELECT count(*)::int AS keys FROM one_time_prekeys WHERE device_id = 1`)).toEqual([
      { keys: 4 },
    ]);
    expect(await query(`SELECT sender_device_id FROM messages WHERE conversation_id = $1`, [conversation])).toEqual([
      { sender_device_id: 1 },
    ]);
  });

  it('still takes the writes of the release before it (a rolling deploy runs both)', async () => {
    // The previous worker stores messages without a device, the previous API logs in through `sessions`.
    await query(
      `INSERT INTO messages (id, conversation_id, sender_id, client_message_id, ciphertext, sent_at)
       VALUES (gen_random_uuid(), $1, $2, gen_random_uuid(), 'c', now())`,
      [conversation, phone.user],
    );
    const legacySession = randomUUID();
    await query(`INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`, [
      legacySession,
      dormant,
    ]);
    expect(await query(`SELECT count(*)::int AS rows FROM messages WHERE sender_device_id = 1`)).toEqual([{ rows: 2 }]);
  });

  it('keeps pre-upgrade tokens working as their device, and the next logins adopt those devices with their keys', async () => {
    const app = (server = await startServer({ env: { DATABASE_URL: primaryUrl, DATABASE_REPLICA_URLS: replicaUrl } }));
    const keyring = app.app.get(JwtKeyring);
    // A token as the server signed them before devices: no device id, the session id as jti.
    const legacy = await keyring.sign({ sub: phone.user, jti: phone.sessions[1] });
    const devices = await call(app.url, 'GET', '/v1/devices', { token: legacy });
    expect(devices.status).toBe(200);
    expect(devices.body.map((device: { id: number; current: boolean }) => [device.id, device.current])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(
      (
        await call(app.url, 'GET', '/v1/devices', {
          token: await keyring.sign({ sub: phone.user, jti: randomUUID() }),
        })
      ).status,
    ).toBe(401);

    const password = 'the same password as before';
    await query(`UPDATE users SET password_hash = $1`, [await app.app.get(PasswordHasher).hash(password)]);
    const login = (username: string) =>
      call(app.url, 'POST', '/v1/auth/login', { body: { username, password, deviceName: 'after the upgrade' } });
    // Alice's two devices from before are taken in order, then a third is new.
    const logins = [await login('alice'), await login('alice'), await login('alice')];
    expect(logins.map((answer) => [answer.status, answer.body.deviceId])).toEqual([
      [200, 1],
      [200, 2],
      [200, 3],
    ]);
    // The adopted device's old session is over; the new one is mirrored for the release before (rolling deploy).
    expect((await call(app.url, 'GET', '/v1/devices', { token: legacy })).status).toBe(401);
    const [{ count }] = await query(
      `SELECT count(*)::int AS count FROM sessions WHERE revoked_at IS NULL AND id = ANY($1::uuid[])`,
      [
        logins.map(
          (answer) => JSON.parse(Buffer.from(answer.body.accessToken.split('.')[1], 'base64url').toString()).jti,
        ),
      ],
    );
    expect(count).toBe(3);
    // Bob, gone since before the upgrade, comes back as device 1, and his published keys were there all along.
    const bob = await login('bob');
    expect(bob.body.deviceId).toBe(1);
    const bundles = await call(app.url, 'GET', `/v1/users/${dormant}/keys`, { token: logins[2].body.accessToken });
    expect(
      bundles.body.devices.map((device: { deviceId: number; preKey: { keyId: number } }) => [
        device.deviceId,
        device.preKey.keyId,
      ]),
    ).toEqual([[1, 1]]);
  });

  it('goes back down to sessions without losing the live ones', async () => {
    await server?.shutdown();
    server = undefined;
    const source = dataSource(MIGRATIONS);
    await source.initialize();
    try {
      // A migration that builds an index concurrently runs outside a transaction, both ways.
      for (let i = MIGRATIONS.length - 1; i >= BEFORE_DEVICES; i--)
        await source.undoLastMigration({
          transaction: (new MIGRATIONS[i]() as { transaction?: boolean }).transaction === false ? 'none' : 'each',
        });
    } finally {
      await source.destroy();
    }
    // The three logins of Alice, Bob's, device 2's pre-upgrade session (adopted: ended) and the old release's one.
    expect(
      await query(`SELECT count(*)::int AS live FROM sessions WHERE revoked_at IS NULL AND expires_at > now()`),
    ).toEqual([{ live: 5 }]);
    expect(await query(`SELECT user_id FROM key_bundles ORDER BY user_id = $1 DESC`, [phone.user])).toEqual([
      { user_id: phone.user },
      { user_id: dormant },
    ]);
    expect(await query(`SELECT to_regclass('devices') AS devices`)).toEqual([{ devices: null }]);
  });
});
