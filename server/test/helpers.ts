import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { randomBytes, randomUUID } from 'node:crypto';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { Client } from 'pg';
import { createClient } from 'redis';
import { DataSource } from 'typeorm';
import { WebSocket } from 'ws';
import { createSqsClient } from '../../common/aws/sqs-client';
import { buildDataSourceOptions } from '../../common/config/database-options';
import { validateEnvironment } from '../../common/config/environment';
import { runMigrations } from '../../common/database/migrate';
import type { RealtimeEvent } from '../../common/contracts/realtime-events';
import { RedisKeys } from '../../common/redis/keys';
import { isOnline, onlineDevicesFromHash, type PresenceRedis } from '../../common/redis/presence';
import { eventually, sleep } from '../../scripts/testing/waiting';
import { ApiSettings } from '../config/api-settings';
import { createServerApp, ServerApp, ServerAppOptions } from '../bootstrap';
import { DEFAULT_RATE_LIMITS, RateLimitRules } from '../rate-limits/rate-limit-rules';

/** Shared by the server's integration suites (real PostgreSQL primary + replica, Redis, SQS server). */

export const env = () => validateEnvironment(ApiSettings, { ...process.env });

let migrated: Promise<void> | undefined;
/** Applies pending migrations once per test file (the runner takes an advisory lock, so files may race). */
export function migrate(): Promise<void> {
  migrated ??= (async () => {
    const dataSource = new DataSource(
      buildDataSourceOptions(env(), {}, { poolSize: 2, applicationName: 'cyphr-server-test-migrate' }),
    );
    await dataSource.initialize();
    try {
      await runMigrations(dataSource);
    } finally {
      await dataSource.destroy();
    }
  })();
  return migrated;
}

/** Limits high enough that suites sharing 127.0.0.1 and one Redis never trip them by accident. */
export const RELAXED_LIMITS: RateLimitRules = Object.fromEntries(
  Object.entries(DEFAULT_RATE_LIMITS).map(([name, rule]) => [name, { ...rule, limit: 100_000 }]),
) as RateLimitRules;

/** A unique tag for names in this run: suites run concurrently and repeatedly against one database. */
export const tag = () => randomUUID().replace(/-/g, '').slice(0, 10);

export async function startServer(options: ServerAppOptions = {}): Promise<ServerApp> {
  await migrate();
  const id = tag();
  return createServerApp({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    instanceId: `test-${id}`,
    applicationName: `cyphr-test-${id}`,
    poolSize: 4,
    rateLimits: RELAXED_LIMITS,
    shutdownTimeoutMs: 5_000,
    ...options,
  });
}

const sharedRedis = () => createClient({ url: env().REDIS_URL });

export interface TwoInstances {
  a: ServerApp;
  b: ServerApp;
  /** A client of the Redis both share, to change what they see behind their backs. */
  redis: ReturnType<typeof sharedRedis>;
}

/**
 * Two API instances sharing the services, as behind the ALB, and a Redis client: started before the file's tests
 * (handed to `take`), shut down after them.
 */
export function twoInstances(take: (started: TwoInstances) => void): void {
  let started: Partial<TwoInstances> = {};
  beforeAll(async () => {
    const [a, b] = await Promise.all([startServer(), startServer()]);
    const redis = sharedRedis();
    started = { a, b, redis };
    await redis.connect();
    take({ a, b, redis });
  });
  afterAll(async () => {
    await Promise.all([started.a?.shutdown(), started.b?.shutdown()]);
    await started.redis?.close();
  });
}

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** JSON over fetch; `body` as a string is sent raw (for malformed-JSON tests). */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (metrics)
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export const publicKey = () => randomBytes(32).toString('base64');
export const signature = () => randomBytes(64).toString('base64');

export interface TestUser {
  id: string;
  username: string;
  password: string;
  /** The access token of `deviceId`. */
  token: string;
  deviceId: number;
  refreshToken: string;
}

export async function register(base: string, prefix = 'u'): Promise<TestUser> {
  const username = `${prefix}_${tag()}`;
  const password = `pw-${tag()}`;
  const answer = await call(base, 'POST', '/v1/auth/register', {
    body: { username, password, identityKey: publicKey() },
  });
  if (answer.status !== 201) throw new Error(`register failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return {
    id: answer.body.user.id,
    username,
    password,
    token: answer.body.accessToken,
    deviceId: answer.body.deviceId,
    refreshToken: answer.body.refreshToken,
  };
}

/** Another device of the same account: a login. */
export async function login(base: string, user: TestUser, deviceName?: string): Promise<TestUser> {
  const answer = await call(base, 'POST', '/v1/auth/login', {
    body: { username: user.username, password: user.password, deviceName },
  });
  if (answer.status !== 200) throw new Error(`login failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return {
    ...user,
    token: answer.body.accessToken,
    deviceId: answer.body.deviceId,
    refreshToken: answer.body.refreshToken,
  };
}

export async function conversationOf(base: string, owner: TestUser, others: TestUser[]): Promise<string> {
  const answer = await call(base, 'POST', '/v1/conversations', {
    token: owner.token,
    body: { memberIds: others.map((user) => user.id) },
  });
  if (answer.status !== 201)
    throw new Error(`create conversation failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.id;
}

/** Direct SQL on the primary or the replica, for fixtures (messages the worker would have stored) and checks. */
export async function sql<T = any>(side: 'primary' | 'replica', text: string, params: unknown[] = []): Promise<T[]> {
  const e = env();
  const client = new Client({
    connectionString: side === 'primary' ? e.DATABASE_URL : e.DATABASE_REPLICA_URLS!.split(',')[0],
  });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Stores a message as the worker would; returns its id and seq. */
export async function storeMessage(
  conversationId: string,
  senderId: string,
  ciphertext = randomBytes(24).toString('base64'),
  /** An explicit seq (the identity is GENERATED ALWAYS, so this overrides it), e.g. to test cursor order. */
  seq?: bigint,
): Promise<{ id: string; seq: string }> {
  const [row] = await sql<{ id: string; seq: string }>(
    'primary',
    seq === undefined
      ? `INSERT INTO messages (id, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext, sent_at)
         VALUES (gen_random_uuid(), $1, $2, 1, gen_random_uuid(), $3, now()) RETURNING id, seq::text AS seq`
      : `INSERT INTO messages (id, seq, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext, sent_at)
         OVERRIDING SYSTEM VALUE
         VALUES (gen_random_uuid(), $4, $1, $2, 1, gen_random_uuid(), $3, now()) RETURNING id, seq::text AS seq`,
    seq === undefined ? [conversationId, senderId, ciphertext] : [conversationId, senderId, ciphertext, seq.toString()],
  );
  return row;
}

/** Waits until the replica has replayed everything the primary has committed so far. */
export async function replicaCaughtUp(timeoutMs = 10_000): Promise<void> {
  const [{ lsn }] = await sql<{ lsn: string }>('primary', 'SELECT pg_current_wal_lsn()::text AS lsn');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [{ caught }] = await sql<{ caught: boolean }>(
      'replica',
      'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught',
      [lsn],
    );
    if (caught) return;
    await sleep(20);
  }
  throw new Error('replica did not catch up');
}

export { eventually, sleep };

/** A WebSocket client that records every event and resolves once the server said "ready". */
export class TestSocket {
  readonly events: any[] = [];
  private waiters: { match: (event: any) => boolean; resolve: (event: any) => void }[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const event = JSON.parse(data.toString());
      this.events.push(event);
      this.waiters = this.waiters.filter((waiter) => (waiter.match(event) ? (waiter.resolve(event), false) : true));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve((this.closeCode = code))));
  }

  static async open(base: string, token: string, how: 'header' | 'query' | 'protocol' = 'header'): Promise<TestSocket> {
    const url = base.replace(/^http/, 'ws') + '/v1/ws' + (how === 'query' ? `?token=${encodeURIComponent(token)}` : '');
    const ws =
      how === 'protocol'
        ? new WebSocket(url, ['cyphr', `bearer.${token}`])
        : new WebSocket(url, how === 'header' ? { headers: { authorization: `Bearer ${token}` } } : {});
    const socket = new TestSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
    });
    await socket.next((event) => event.type === 'ready');
    return socket;
  }

  next(match: (event: any) => boolean, timeoutMs = 5_000): Promise<any> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no matching event in ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.type))}`),
          ),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (event) => (clearTimeout(timer), resolve(event)) });
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** A TCP proxy in front of the shared Redis that a test can cut and restore: "Redis stopped" for one instance only. */
export class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(port = 0): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Drops every connection and stops listening (new connections are refused). */
  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }
}

/** A throwaway messages queue on the local SQS server, so a test can read exactly what its instances sent. */
export async function privateQueue(): Promise<{
  url: string;
  sqs: SQSClient;
  receiveAll(waitMs?: number): Promise<any[]>;
  remove(): Promise<void>;
}> {
  const e = env();
  const sqs = createSqsClient(e);
  // FIFO like `cyphr-messages.fifo`, so the instances send group and deduplication ids as they do in production.
  const url = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `st-${tag()}-messages.fifo`,
        Attributes: { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
      }),
    )
  ).QueueUrl!;
  return {
    url,
    sqs,
    receiveAll: async (waitMs = 1_000) => {
      const bodies: any[] = [];
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline) {
        const { Messages } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 60,
          }),
        );
        bodies.push(...(Messages ?? []).map((message) => JSON.parse(message.Body!)));
        if (!Messages?.length) await sleep(50);
        // Read means consumed: a FIFO group gives its next message only once the ones before are deleted.
        else
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: url,
              Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
            }),
          );
      }
      return bodies;
    },
    remove: async () => {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
      sqs.destroy();
    },
  };
}

/** Stores a message as the worker would and builds the `message` event the worker then publishes for it. */
export async function storedMessageEvent(
  conversationId: string,
  senderId: string,
): Promise<{ id: string; event: RealtimeEvent }> {
  const stored = await storeMessage(conversationId, senderId);
  const now = new Date().toISOString();
  const event: RealtimeEvent = {
    type: 'message',
    message: {
      id: stored.id,
      seq: stored.seq,
      conversationId,
      senderId,
      senderDeviceId: 1,
      clientMessageId: randomUUID(),
      ciphertext: 'AAAA',
      sentAt: now,
      storedAt: now,
    },
  };
  return { id: stored.id, event };
}

/**
 * Bob connects to instance B and leaves again while Alice watches from instance A: presence in `redis` follows,
 * and Alice is told both times. Shared by the single-node and the cluster suites.
 */
export async function expectPresenceComesAndGoes(
  a: ServerApp,
  b: ServerApp,
  redis: PresenceRedis,
  aliceAuth: 'header' | 'query' | 'protocol' = 'header',
): Promise<void> {
  const [alice, bob] = await Promise.all([register(a.url, 'alice'), register(a.url, 'bob')]);
  await conversationOf(a.url, alice, [bob]);
  const aliceOnA = await TestSocket.open(a.url, alice.token, aliceAuth);
  expect(await isOnline(redis, bob.id)).toBe(false);

  const bobOnB = await TestSocket.open(b.url, bob.token);
  expect(await isOnline(redis, bob.id)).toBe(true);
  expect(await aliceOnA.next((e) => e.type === 'presence' && e.userId === bob.id && e.online)).toMatchObject({
    online: true,
  });

  // Presence is kept per device (the worker pushes to the devices without a socket); the user stays online while
  // any device has one, and contacts hear only when the user comes or goes.
  const devices = async () =>
    [...onlineDevicesFromHash(await redis.hGetAll(RedisKeys.presence(bob.id)))].sort((x, y) => x - y);
  expect(await devices()).toEqual([bob.deviceId]);
  const bobPhone = await login(a.url, bob, 'phone');
  const phoneOnA = await TestSocket.open(a.url, bobPhone.token);
  expect(await devices()).toEqual([bob.deviceId, bobPhone.deviceId].sort((x, y) => x - y));
  bobOnB.close();
  await eventually(async () => (await devices()).join() === String(bobPhone.deviceId), 5_000, 'only the phone');
  expect(await isOnline(redis, bob.id)).toBe(true);
  expect(aliceOnA.events.filter((e) => e.type === 'presence' && e.userId === bob.id && !e.online)).toEqual([]);
  phoneOnA.close();
  await eventually(async () => !(await isOnline(redis, bob.id)), 5_000, 'bob offline');
  expect(await aliceOnA.next((e) => e.type === 'presence' && e.userId === bob.id && !e.online)).toMatchObject({
    online: false,
  });
  aliceOnA.close();
}
