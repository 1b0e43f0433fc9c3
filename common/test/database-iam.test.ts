import 'reflect-metadata';
import { Signer } from '@aws-sdk/rds-signer';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../config/database-options';
import { validateEnvironment } from '../config/environment';
import { MigrateSettings } from '../config/migrate-settings';
import { parseEnvFile } from '../config/local-env-file';
import { migrate } from '../database/migrate';
import { MIGRATIONS } from '../database/migrations';
import { DATABASE_ROLES } from '../database/roles';
import { rdsCaBundle } from '../database/tls';
import { CredentialStore } from '../../scripts/testing/aws/iam';
import { InstanceMetadataStandIn } from '../../scripts/testing/aws/instance-metadata';
import { RdsIamLdapStandIn, rdsIamTokenVerifier } from '../../scripts/testing/aws/rds-iam-ldap';
import { SecretsManagerStandIn } from '../../scripts/testing/aws/secrets-manager';
import { eventually, sleep } from '../../scripts/testing/waiting';
import { createServerApp } from '../../server/bootstrap';
import { MessageStore } from '../../worker/messages/message-store';
import { PushTargets } from '../../worker/notifications/push-targets';
import { DeviceMessageStore } from '../../worker/mailbox/device-message-store';
import { MailboxExpiry } from '../../worker/mailbox/mailbox-expiry';
import { WorkerMetrics } from '../../worker/observability/metrics';
import type { WorkerLogger } from '../../worker/observability/logger';
import { ReceiptsRepository } from '../../server/receipts/receipts.repository';
import { call, conversationOf, publicKey, register, RELAXED_LIMITS, signature } from '../../server/test/helpers';

// PostgreSQL reached the way production reaches RDS: verify-full TLS against the database's CA, logins by IAM
// tokens the process signs per connection with its instance role's credentials (IMDS stand-in), checked by the
// RDS IAM stand-in that PostgreSQL consults for members of rds_iam; least-privilege roles made by the migration.
const services = process.env;
const host = services.CYPHR_PG_HOST ?? '127.0.0.1';
const primaryPort = Number(services.CYPHR_PG_PORT);
const replicaPort = Number(services.CYPHR_PG_REPLICA_PORT);
const caFile = services.CYPHR_PG_CA_FILE!;
const masterPassword = parseEnvFile(
  readFileSync(join(__dirname, '../../.local/secrets.env'), 'utf8'),
).PG_SUPERUSER_PASSWORD;
const master = { username: 'postgres', password: masterPassword };

const API_ROLE = 'cyphr-test-api';
const WORKER_ROLE = 'cyphr-test-worker';

async function asMaster(database: string, sql: string, params: unknown[] = []) {
  const client = new Client({ host, port: primaryPort, database, user: master.username, password: master.password });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** The database settings user data writes, pointed at the local services (no URL with a password). */
const awsDatabaseSettings = (database: string) => ({
  DATABASE_URL: '',
  DATABASE_REPLICA_URLS: '',
  DATABASE_HOST: host,
  DATABASE_PORT: String(primaryPort),
  DATABASE_REPLICA_HOSTS: `${host}:${replicaPort}`,
  DATABASE_NAME: database,
  DATABASE_AUTH: 'iam',
  DATABASE_SSL: 'true',
  DATABASE_CA_FILE: caFile,
});

/** The settings user data writes for a role, pointed at the local services. */
function awsEnvironment(database: string, overrides: Record<string, string | undefined>): MigrateSettings {
  // The migration's validator: the worker's env file carries what the api's does, and the migration's fields.
  return validateEnvironment(MigrateSettings, {
    ...services,
    DATABASE_MIGRATION_USER: DATABASE_ROLES.migrate,
    DATABASE_MASTER_SECRET_ARN: masterSecretArn,
    ...awsDatabaseSettings(database),
    ...overrides,
  });
}

async function open(env: MigrateSettings, poolSize = 2): Promise<DataSource> {
  return new DataSource(buildDataSourceOptions(env, {}, { poolSize, applicationName: 'cyphr-iam-test' })).initialize();
}

/** A direct login with a token signed by `credentials` (a role's IMDS credentials) for `user`. */
async function loginWithToken(database: string, user: string, token: string): Promise<Client> {
  const client = new Client({
    host,
    port: primaryPort,
    database,
    user,
    password: token,
    ssl: { rejectUnauthorized: true, ca: readFileSync(caFile, 'utf8') },
  });
  await client.connect();
  return client;
}

function signAs(role: string, user: string): Promise<string> {
  return new Signer({
    hostname: host,
    port: primaryPort,
    username: user,
    region: services.AWS_REGION!,
    credentials: async () => store.credentialsFor(role),
  }).getAuthToken();
}

let store: CredentialStore;
let ldap: RdsIamLdapStandIn;
let apiMetadata: InstanceMetadataStandIn;
let workerMetadata: InstanceMetadataStandIn;
let secretsManager: SecretsManagerStandIn;
let masterSecretArn: string;
const database = `cyphr_iam_${randomUUID().slice(0, 8)}`;
const saved = { ...process.env };

/** Which instance role the SDK's default chain finds, as on an api or a worker instance. */
function onInstance(metadata: InstanceMetadataStandIn): void {
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = metadata.url;
}

beforeAll(async () => {
  store = new CredentialStore()
    .allow(API_ROLE, 'rds-db', DATABASE_ROLES.api)
    .allow(WORKER_ROLE, 'rds-db', DATABASE_ROLES.worker)
    .allow(WORKER_ROLE, 'rds-db', DATABASE_ROLES.migrate); // the migration runs on worker instances
  ldap = await RdsIamLdapStandIn.start({
    port: Number(services.CYPHR_IAM_LDAP_PORT),
    verify: rdsIamTokenVerifier(store, [`${host}:${primaryPort}`, `${host}:${replicaPort}`]),
  });
  apiMetadata = await InstanceMetadataStandIn.start({ role: API_ROLE, credentials: store });
  workerMetadata = await InstanceMetadataStandIn.start({ role: WORKER_ROLE, credentials: store });
  secretsManager = await SecretsManagerStandIn.start({ region: services.AWS_REGION });
  masterSecretArn = await secretsManager.create(`cyphr-test/db-master-${database}`, JSON.stringify(master));
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
    delete process.env[name];
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsManager.url;

  // A database as it was before IAM logins: schema made and owned by the master, with a user in it.
  await asMaster('postgres', `CREATE DATABASE ${database}`);
  const before = new DataSource({
    ...buildDataSourceOptions(
      validateEnvironment(MigrateSettings, {
        ...services,
        DATABASE_URL: `postgres://postgres:${encodeURIComponent(masterPassword)}@${host}:${primaryPort}/${database}`,
        DATABASE_REPLICA_URLS: '',
      }),
      {},
      { poolSize: 1 },
    ),
    migrations: MIGRATIONS.slice(0, 2),
  });
  await before.initialize();
  await before.runMigrations();
  await before.query(`INSERT INTO users (username, password_hash, identity_key) VALUES ('before', 'h', 'k')`);
  await before.destroy();
});

afterAll(async () => {
  process.env = saved;
  await asMaster('postgres', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  await Promise.all([ldap?.close(), apiMetadata?.close(), workerMetadata?.close(), secretsManager?.close()]);
});

describe('PostgreSQL over verify-full TLS with IAM logins and least-privilege roles', () => {
  it('the migration, on a worker instance, bootstraps the roles with the master secret and keeps the data', async () => {
    onInstance(workerMetadata);
    const logs: string[] = [];
    const env = awsEnvironment(database, {
      DATABASE_USER: DATABASE_ROLES.worker,
      DATABASE_MIGRATION_USER: DATABASE_ROLES.migrate,
      DATABASE_MASTER_SECRET_ARN: masterSecretArn,
    });
    const result = await migrate(env, { log: (line) => logs.push(line) });
    // Everything after the two migrations the database was created with (beforeAll), grants first.
    expect(result.applied).toEqual(MIGRATIONS.slice(2).map((migration) => migration.name));
    expect(result.applied[0]).toBe('LeastPrivilegeGrants1764000200000');
    expect(result.bootstrap?.ownedObjectsMoved).toBeGreaterThan(0);
    expect(secretsManager.calls.some((call) => JSON.stringify(call).includes(masterSecretArn))).toBe(true);

    const owners = await asMaster(
      database,
      `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'i')`,
    );
    expect(owners.rows).toEqual([{ owner: DATABASE_ROLES.migrate }]);
    expect((await asMaster(database, `SELECT username FROM users`)).rows).toEqual([{ username: 'before' }]);
    expect(ldap.binds).toContainEqual({ user: DATABASE_ROLES.migrate, ok: true, role: WORKER_ROLE });

    // Run again: the role logs in and owns the database, so no secret is read and nothing is left to apply.
    const reads = secretsManager.calls.length;
    expect(await migrate(env)).toEqual({ applied: [], bootstrap: undefined });
    expect(secretsManager.calls.length).toBe(reads);
  });

  it('creates missing roles as an RDS-like master (no superuser), hands it the schema, and leaves the master a password login', async () => {
    const fresh = `cyphr_boot_${randomUUID().slice(0, 8)}`;
    const suffix = randomUUID().slice(0, 6);
    const roles = { migrate: `t${suffix}_migrate`, api: `t${suffix}_api`, worker: `t${suffix}_worker` };
    // RDS's master user: CREATEROLE and CREATEDB, not a superuser, owner of the database RDS made for it.
    const rdsMaster = { username: `t${suffix}_admin`, password: randomUUID() };
    store.allow(WORKER_ROLE, 'rds-db', roles.migrate);
    await asMaster(
      'postgres',
      `CREATE ROLE ${rdsMaster.username} LOGIN CREATEROLE CREATEDB PASSWORD '${rdsMaster.password}'`,
    );
    await asMaster('postgres', `CREATE DATABASE ${fresh} OWNER ${rdsMaster.username}`);
    const asRdsMaster = async (sql: string) => {
      const client = new Client({
        host,
        port: primaryPort,
        database: fresh,
        user: rdsMaster.username,
        password: rdsMaster.password,
        ssl: { rejectUnauthorized: true, ca: readFileSync(caFile, 'utf8') },
      });
      await client.connect();
      try {
        return await client.query(sql);
      } finally {
        await client.end();
      }
    };
    try {
      await asRdsMaster(`CREATE TABLE legacy (id int); INSERT INTO legacy VALUES (1)`);
      const arn = await secretsManager.create(`cyphr-test/db-master-${fresh}`, JSON.stringify(rdsMaster));
      onInstance(workerMetadata);
      const env = awsEnvironment(fresh, {
        DATABASE_USER: roles.worker,
        DATABASE_MIGRATION_USER: roles.migrate,
        DATABASE_MASTER_SECRET_ARN: arn,
      });
      const result = await migrate(env, { roles, log: () => undefined });
      expect(result.bootstrap?.createdRoles).toEqual([roles.migrate, roles.api, roles.worker]);
      expect(result.applied).toHaveLength(MIGRATIONS.length);
      const members = await asMaster(
        'postgres',
        `SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
         WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = 'rds_iam') AND r.rolname = ANY($1) ORDER BY 1`,
        [[...Object.values(roles), rdsMaster.username]],
      );
      expect(members.rows.map((row) => row.rolname)).toEqual(Object.values(roles).sort());
      const owners = await asMaster(
        fresh,
        `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()
         UNION SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname IN ('legacy', 'users', 'cyphr_migrations')`,
      );
      expect(owners.rows).toEqual([{ owner: roles.migrate }]);
      // The master kept no membership in the migration role: through it, it would count as an rds_iam member
      // and lose its password login. It still logs in with its password.
      const held = await asMaster(
        'postgres',
        `SELECT 1 FROM pg_auth_members WHERE member = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
        [rdsMaster.username],
      );
      expect(held.rowCount).toBe(0);
      await expect(asRdsMaster(`SELECT 1`)).resolves.toBeDefined();
    } finally {
      await asMaster('postgres', `DROP DATABASE IF EXISTS ${fresh} WITH (FORCE)`);
      for (const role of [...Object.values(roles), rdsMaster.username])
        await asMaster('postgres', `DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
    }
  });

  describe('the api as it runs on AWS', () => {
    let api: DataSource;
    beforeAll(async () => {
      onInstance(apiMetadata);
      api = await open(awsEnvironment(database, { DATABASE_USER: DATABASE_ROLES.api }));
    });
    afterAll(() => api?.destroy());

    it('logs in as cyphr_api over verify-full TLS on the primary and the replica', async () => {
      const [row] = await api.query(
        `SELECT current_user AS who, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS tls`,
      );
      expect(row).toEqual({ who: DATABASE_ROLES.api, tls: true });
      const replica = api.createQueryRunner('slave');
      try {
        const [r] = await replica.query(`SELECT current_user AS who, pg_is_in_recovery() AS standby`);
        expect(r).toEqual({ who: DATABASE_ROLES.api, standby: true });
      } finally {
        await replica.release();
      }
      expect(ldap.binds).toContainEqual({ user: DATABASE_ROLES.api, ok: true, role: API_ROLE });
    });

    it('runs the statements the api runs, including claiming a prekey FOR UPDATE SKIP LOCKED', async () => {
      const [user] = await api.query(
        `INSERT INTO users (username, password_hash, identity_key) VALUES ($1, 'h', 'k') RETURNING id`,
        [`u${randomUUID().slice(0, 8)}`],
      );
      await api.query(`UPDATE users SET display_name = 'x', updated_at = now() WHERE id = $1`, [user.id]);
      await api.query(
        `INSERT INTO devices (user_id, id, session_id, name, refresh_expires_at)
         VALUES ($1, 1, gen_random_uuid(), 'd', now() + interval '1 day')`,
        [user.id],
      );
      await api.query(
        `INSERT INTO key_bundles (user_id, device_id, signed_prekey_id, signed_prekey, signed_prekey_signature)
         VALUES ($1, 1, 1, 'p', 's')
         ON CONFLICT (user_id, device_id) DO UPDATE SET signed_prekey = excluded.signed_prekey`,
        [user.id],
      );
      await api.query(
        `INSERT INTO one_time_prekeys (user_id, device_id, key_id, public_key) VALUES ($1, 1, 1, 'k') ON CONFLICT DO NOTHING`,
        [user.id],
      );
      const taken = await api.query(
        `WITH taken AS (DELETE FROM one_time_prekeys WHERE id = (
           SELECT id FROM one_time_prekeys WHERE user_id = $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING key_id)
         SELECT key_id FROM taken`,
        [user.id],
      );
      expect(taken).toEqual([{ key_id: 1 }]);
    });

    it('cannot run DDL, nor touch a table it has no grant on, nor write messages', async () => {
      await expect(api.query(`CREATE TABLE api_was_here (id int)`)).rejects.toMatchObject({ code: '42501' });
      await expect(api.query(`SELECT * FROM cyphr_migrations`)).rejects.toMatchObject({ code: '42501' });
      await expect(api.query(`TRUNCATE devices`)).rejects.toMatchObject({ code: '42501' });
      await expect(api.query(`DELETE FROM users`)).rejects.toMatchObject({ code: '42501' });
      await expect(
        api.query(
          `INSERT INTO messages (id, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext, sent_at)
           VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1, gen_random_uuid(), 'c', now())`,
        ),
      ).rejects.toMatchObject({ code: '42501' });
    });

    it('keeps working after its tokens expire: old tokens are refused, new connections sign fresh ones', async () => {
      const oldToken = await signAs(API_ROLE, DATABASE_ROLES.api);
      store.expireIssuedTokens();
      await expect(loginWithToken(database, DATABASE_ROLES.api, oldToken)).rejects.toThrow(
        /LDAP authentication failed/,
      );
      expect(ldap.binds.at(-1)).toMatchObject({ user: DATABASE_ROLES.api, ok: false, reason: 'token expired' });

      // Existing sessions outlive their token (as on RDS); end them so the pool must log in again.
      await sleep(1_100); // tokens are dated to the second; the next one must be signed after the cut-off
      const terminated = await asMaster(
        database,
        `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE usename = $1 AND datname = $2`,
        [DATABASE_ROLES.api, database],
      );
      expect(Number(terminated.rows[0].n)).toBeGreaterThan(0);
      const bindsBefore = ldap.binds.length;
      const row = await eventually(
        async () => (await api.query(`SELECT current_user AS who`).catch(() => undefined))?.[0],
        10_000,
        'a query after the pool reconnects',
      );
      expect(row).toEqual({ who: DATABASE_ROLES.api });
      expect(ldap.binds.slice(bindsBefore)).toContainEqual({ user: DATABASE_ROLES.api, ok: true, role: API_ROLE });
    });

    it("cannot log in as cyphr_worker with the api role's credentials", async () => {
      const token = await signAs(API_ROLE, DATABASE_ROLES.worker);
      await expect(loginWithToken(database, DATABASE_ROLES.worker, token)).rejects.toThrow(
        /LDAP authentication failed/,
      );
      expect(ldap.binds.at(-1)).toEqual({
        user: DATABASE_ROLES.worker,
        ok: false,
        reason: `${API_ROLE} may not connect as ${DATABASE_ROLES.worker}`,
      });
      // Nor with the password path: members of rds_iam have no password login.
      await expect(loginWithToken(database, DATABASE_ROLES.api, masterPassword)).rejects.toThrow(
        /LDAP authentication failed/,
      );
    });
  });

  it('the API serves its routes as cyphr_api: every grant its SQL needs is there', async () => {
    onInstance(apiMetadata);
    const server = await createServerApp({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      instanceId: 'iam-test',
      applicationName: 'cyphr-iam-test-api',
      poolSize: 2,
      rateLimits: RELAXED_LIMITS,
      shutdownTimeoutMs: 5_000,
      env: { ...awsDatabaseSettings(database), DATABASE_USER: DATABASE_ROLES.api },
    });
    const base = server.url;
    try {
      const [alice, bob] = [await register(base, 'alice'), await register(base, 'bob')];
      const ok = (status: number) => expect([200, 201, 204]).toContain(status);
      ok(
        (await call(base, 'POST', '/v1/auth/login', { body: { username: bob.username, password: bob.password } }))
          .status,
      );
      ok((await call(base, 'PATCH', '/v1/users/me', { token: bob.token, body: { displayName: 'Bob' } })).status);
      ok(
        (
          await call(base, 'PUT', '/v1/keys', {
            token: bob.token,
            body: {
              signedPreKey: { keyId: 1, publicKey: publicKey(), signature: signature() },
              oneTimePreKeys: [{ keyId: 1, publicKey: publicKey() }],
            },
          })
        ).status,
      );
      const bundle = await call(base, 'GET', `/v1/users/${bob.id}/keys`, { token: alice.token });
      expect(bundle.status).toBe(200);
      expect(bundle.body.devices[0].preKey).toMatchObject({ keyId: 1, lastResort: false });
      const conversationId = await conversationOf(base, alice, [bob]);
      ok((await call(base, 'GET', '/v1/conversations', { token: bob.token })).status);
      const [{ id: messageId }] = (
        await asMaster(
          database,
          `INSERT INTO messages (id, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext, sent_at)
           VALUES (gen_random_uuid(), $1, $2, 1, gen_random_uuid(), 'c', now()) RETURNING id`,
          [conversationId, alice.id],
        )
      ).rows;
      ok((await call(base, 'GET', `/v1/conversations/${conversationId}/messages`, { token: bob.token })).status);
      ok(
        (
          await call(base, 'POST', `/v1/conversations/${conversationId}/read`, {
            token: bob.token,
            body: { upToMessageId: messageId },
          })
        ).status,
      );
      // Members change (conversations UPDATE, conversation_members DELETE, membership_changes INSERT) and sync
      // (membership_changes and device_messages SELECT).
      const carol = await register(base, 'carol');
      const members = `/v1/conversations/${conversationId}/members`;
      ok((await call(base, 'POST', members, { token: alice.token, body: { userIds: [carol.id] } })).status);
      ok((await call(base, 'DELETE', `${members}/${carol.id}`, { token: alice.token })).status);
      const synced = await call(base, 'GET', '/v1/sync', { token: bob.token });
      expect(synced.status).toBe(200);
      expect(synced.body.conversations).toHaveLength(1);
      // The mailbox: addressing reads members and devices (refused here, so nothing is queued), the pending list
      // reads and the ack deletes; ids not in the mailbox are looked up as conversation messages for receipts.
      const to = (deviceId: number) => ({ messages: [{ userId: bob.id, deviceId, ciphertext: 'AAAA' }] });
      expect((await call(base, 'POST', '/v1/devices/messages', { token: alice.token, body: to(999) })).status).toBe(
        404,
      );
      const [{ id: mailboxId }] = (
        await asMaster(
          database,
          `INSERT INTO device_messages (id, user_id, device_id, sender_id, sender_device_id, ciphertext, sent_at, expires_at)
           VALUES (gen_random_uuid(), $1, $2, $3, 1, 'AAAA', now(), now() + interval '1 day') RETURNING id`,
          [bob.id, bob.deviceId, alice.id],
        )
      ).rows;
      const pending = await call(base, 'GET', '/v1/devices/messages', { token: bob.token });
      expect(pending.body.items.map((item: { id: string }) => item.id)).toEqual([mailboxId]);
      ok(
        (await call(base, 'POST', '/v1/devices/messages/ack', { token: bob.token, body: { ids: [mailboxId] } })).status,
      );
      expect(
        await server.app
          .get(ReceiptsRepository)
          .visibleMessages([{ readerId: bob.id, readerDeviceId: bob.deviceId, messageId }]),
      ).toEqual([expect.objectContaining({ messageId, senderId: alice.id })]);
      // Devices: a refresh rotates (a row lock and an update), a removal deletes the device's keys, logout likewise.
      const refreshed = await call(base, 'POST', '/v1/auth/refresh', { body: { refreshToken: bob.refreshToken } });
      expect(refreshed.status).toBe(200);
      ok((await call(base, 'GET', '/v1/devices', { token: refreshed.body.accessToken })).status);
      const twice = await call(base, 'POST', '/v1/auth/refresh', {
        body: { refreshToken: refreshed.body.refreshToken },
      });
      expect(twice.status).toBe(200);
      expect((await call(base, 'POST', '/v1/auth/refresh', { body: { refreshToken: bob.refreshToken } })).status).toBe(
        401,
      ); // an older generation: the device (with its keys) is removed
      // Push registration: an update of the device's push columns, and clearing them.
      const push = `/v1/devices/${alice.deviceId}/push`;
      ok(
        (await call(base, 'PUT', push, { token: alice.token, body: { provider: 'fcm', token: 'f'.repeat(40) } }))
          .status,
      );
      ok((await call(base, 'DELETE', push, { token: alice.token })).status);
      const laptop = await call(base, 'POST', '/v1/auth/login', {
        body: { username: alice.username, password: alice.password, deviceName: 'laptop' },
      });
      ok((await call(base, 'DELETE', `/v1/devices/${laptop.body.deviceId}`, { token: alice.token })).status);
      ok((await call(base, 'POST', '/v1/auth/logout', { token: alice.token })).status);
    } finally {
      await server.shutdown();
    }
  });

  it('the worker stores messages and reads them back, and nothing else', async () => {
    onInstance(workerMetadata);
    const worker = await open(
      awsEnvironment(database, { DATABASE_USER: DATABASE_ROLES.worker, DATABASE_REPLICA_HOSTS: '' }),
    );
    try {
      const [{ id: userId }] = await asMaster(database, `SELECT id FROM users LIMIT 1`).then((r) => r.rows);
      const [{ id: conversationId }] = (
        await asMaster(database, `INSERT INTO conversations (created_by) VALUES ($1) RETURNING id`, [userId])
      ).rows;
      // The worker's own store: one idempotent batch insert that reads back what was already there.
      const messages = new MessageStore(worker);
      const body = {
        v: 1 as const,
        id: randomUUID(),
        conversationId,
        senderId: userId,
        clientMessageId: randomUUID(),
        ciphertext: 'Y2lwaGVy',
        sentAt: new Date().toISOString(),
        memberIds: [userId],
      };
      expect((await messages.storeBatch([body])).map((r) => r.status)).toEqual(['stored']);
      expect((await messages.storeBatch([body])).map((r) => r.status)).toEqual(['duplicate']); // a redelivery
      // Device messages: stored for a live device, dropped for none; the expiry pass locks, purges and measures.
      const [{ user_id: recipient, id: deviceId }] = (
        await asMaster(database, `SELECT user_id, id FROM devices WHERE removed_at IS NULL LIMIT 1`)
      ).rows;
      const deviceMessage = (device: number) => ({
        v: 1 as const,
        kind: 'device-message' as const,
        id: randomUUID(),
        userId: recipient,
        deviceId: device,
        senderId: userId,
        senderDeviceId: 1,
        ciphertext: 'Y2lwaGVy',
        sentAt: new Date(Date.now() - 40 * 86_400_000).toISOString(),
      });
      const mailbox = new DeviceMessageStore(worker, 30);
      expect(
        (await mailbox.storeBatch([deviceMessage(deviceId), deviceMessage(2_000_000)])).map((r) => r.status),
      ).toEqual(['stored', 'gone']);
      const warnings: unknown[] = [];
      const metrics = new WorkerMetrics({ defaultMetrics: false });
      await new MailboxExpiry(worker, {
        intervalMs: 60_000,
        metrics,
        logger: { warn: (...args: unknown[]) => warnings.push(args) } as unknown as WorkerLogger,
      }).pass();
      expect(warnings).toEqual([]);
      expect((await metrics.mailboxPurged.get()).values[0].value).toBeGreaterThanOrEqual(1); // sent 40 days ago
      expect((await metrics.mailboxOldestAge.get()).values).toHaveLength(1);
      // Push: the worker reads registrations and may clear a dead token (only the push columns).
      const token = 'w'.repeat(40);
      await asMaster(
        database,
        `UPDATE devices SET push_provider = 'webhook', push_token = $3, push_updated_at = now() WHERE user_id = $1 AND id = $2`,
        [recipient, deviceId, token],
      );
      const targets = new PushTargets(worker);
      const [target] = (await targets.of([recipient])).filter((t) => t.deviceId === deviceId);
      expect(target).toEqual({ userId: recipient, deviceId, provider: 'webhook', token });
      await targets.forget(target);
      expect((await targets.of([recipient])).filter((t) => t.deviceId === deviceId)).toEqual([]);
      await expect(worker.query(`UPDATE devices SET name = 'x' WHERE user_id = $1`, [recipient])).rejects.toMatchObject(
        {
          code: '42501',
        },
      );
      await expect(worker.query(`SELECT * FROM users`)).rejects.toMatchObject({ code: '42501' });
      await expect(worker.query(`DELETE FROM messages`)).rejects.toMatchObject({ code: '42501' });
      await expect(worker.query(`CREATE TABLE worker_was_here (id int)`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await worker.destroy();
    }
  });

  it('refuses a server whose certificate does not chain to the configured CA (verify-full)', async () => {
    onInstance(apiMetadata);
    // Without DATABASE_CA_FILE the RDS bundle is trusted, which did not sign the local server's certificate.
    expect(rdsCaBundle()).toContain('BEGIN CERTIFICATE');
    await expect(
      open(awsEnvironment(database, { DATABASE_USER: DATABASE_ROLES.api, DATABASE_CA_FILE: '' })),
    ).rejects.toThrow(/self[- ]signed certificate|unable to (get|verify)/i);
  });
});
