import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { eventually } from '../../scripts/testing/waiting';
import { MemoryStore, MessengerClient, ReceivedMessage, WebSocketConstructor } from '../sdk';
import { sql } from '../../server/test/helpers';
import type { CaptureHarness } from './capture';
import type { Captured } from './find-plaintexts';

/** SDK clients for the integration suites: opened against one of the stack's API instances, watched for errors. */
export interface Device {
  name: string;
  client: MessengerClient;
  store: MemoryStore;
  userId: string;
  deviceId: number;
  /** Everything the client emitted as `message`, and as `error`. */
  messages: ReceivedMessage[];
  errors: Error[];
}

export const PASSWORD = 'correct horse battery staple';
export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

export class Devices {
  readonly all: Device[] = [];

  constructor(
    private readonly urls: string[],
    private readonly capture?: CaptureHarness,
  ) {}

  /** A client on instance `server` over `store` (a fresh one by default); `fetch` overrides the transport. */
  async open(
    name: string,
    server: number,
    store = new MemoryStore(),
    fetchImpl?: typeof fetch,
  ): Promise<Omit<Device, 'userId' | 'deviceId'>> {
    const webSocket = (this.capture ? this.capture.recordingWebSocket(name) : WebSocket) as unknown;
    const client = await MessengerClient.open({
      server: this.urls[server % this.urls.length],
      store,
      webSocket: webSocket as WebSocketConstructor,
      fetch: fetchImpl ?? this.capture?.recordingFetch(name),
    });
    const device = { name, client, store, messages: [] as ReceivedMessage[], errors: [] as Error[] };
    client.on('message', (message) => device.messages.push(message));
    client.on('error', (error) => device.errors.push(error));
    return device;
  }

  async register(name: string, server: number): Promise<Device> {
    const opened = await this.open(name, server);
    const account = await opened.client.register(uniqueName(name), PASSWORD, name);
    return this.keep({ ...opened, ...account });
  }

  /** A new device of `existing`'s account, approved by it and linked (it holds the identity key). */
  async link(existing: Device, name: string, server: number): Promise<Device> {
    const opened = await this.open(name, server);
    const username = await existing.client.usernameOf(existing.userId);
    const login = await opened.client.login(username, PASSWORD, name);
    await existing.client.approveDevice(login.deviceId, login.linkCode);
    await eventually(async () => (await opened.client.sync(), opened.client.linked), 15_000, `${name} linked`, 100);
    return this.keep({ ...opened, userId: login.userId, deviceId: login.deviceId });
  }

  /** Reopens a device's client from its store (after `close`), as an app restarting. */
  async reopen(device: Device, server: number, fetchImpl?: typeof fetch): Promise<Device> {
    const opened = await this.open(device.name, server, device.store, fetchImpl);
    return this.keep({ ...opened, userId: device.userId, deviceId: device.deviceId });
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.map((device) => device.client.close().catch(() => undefined)));
  }

  private keep(device: Device): Device {
    this.all.push(device);
    return device;
  }
}

/** Resolves once `device` has emitted a message with each of `texts` (live events). */
export function receivedLive(device: Device, texts: string[], timeoutMs = 15_000): Promise<ReceivedMessage[]> {
  return eventually(
    async () => {
      const found = texts.map((text) => device.messages.find((message) => message.text === text));
      return found.every(Boolean) ? (found as ReceivedMessage[]) : undefined;
    },
    timeoutMs,
    `${device.name} received ${texts.length} message(s)`,
    50,
  );
}

/**
 * Syncs until `count` new messages came back, or the given message ids did (the worker stores asynchronously);
 * answers everything the syncs returned.
 */
export async function syncFor(
  device: Device,
  wanted: number | Set<string>,
  timeoutMs = 15_000,
): Promise<ReceivedMessage[]> {
  const got: ReceivedMessage[] = [];
  const done = () =>
    typeof wanted === 'number'
      ? got.length >= wanted
      : [...wanted].every((id) => got.some((message) => message.messageId === id));
  await eventually(
    async () => {
      got.push(...(await device.client.sync()));
      return done();
    },
    timeoutMs,
    `${device.name} synced ${typeof wanted === 'number' ? wanted : wanted.size} message(s)`,
    100,
  );
  return got;
}

/** The device's current access token, read from its store (to act as that very device through the raw API). */
export async function accessTokenOf(device: Device): Promise<string> {
  const tokens = JSON.parse((await device.store.get('auth/tokens'))!) as { accessToken: string };
  return tokens.accessToken;
}

/**
 * A `fetch` for a device the server no longer serves (removed, or its account removed from the conversation): it
 * answers the history pages straight from PostgreSQL, as a copy of the database would, and refuses everything else.
 */
export function historyFromDatabase(): typeof fetch {
  return async (input) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const page = /^\/v1\/conversations\/([0-9a-f-]{36})\/messages$/.exec(url.pathname);
    if (!page) return Response.json({ message: 'this device was removed' }, { status: 403 });
    const after = url.searchParams.get('after') ?? '0';
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const rows = await sql<Record<string, string | number | Date>>(
      'primary',
      `SELECT id, seq::text AS seq, conversation_id, sender_id, sender_device_id, client_message_id, ciphertext,
              sent_at, stored_at
         FROM messages WHERE conversation_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3`,
      [page[1], after, limit + 1],
    );
    const items = rows.slice(0, limit).map((row) => ({
      id: row.id,
      seq: row.seq,
      conversationId: row.conversation_id,
      senderId: row.sender_id,
      senderDeviceId: row.sender_device_id,
      clientMessageId: row.client_message_id,
      ciphertext: row.ciphertext,
      sentAt: (row.sent_at as Date).toISOString(),
      storedAt: (row.stored_at as Date).toISOString(),
    }));
    return Response.json({ items, nextCursor: rows.length > limit ? items[items.length - 1].seq : null });
  };
}

/** Every value in a device's store, as one capture: what a stolen device would give away. */
export async function storeContents(device: Device): Promise<Captured> {
  const keys = await device.store.list('');
  const values = await Promise.all(keys.map(async (key) => `${key}=${await device.store.get(key)}`));
  return { source: `store ${device.name}`, data: Buffer.from(values.join('\n')) };
}
