import { randomBytes, randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import type { DeviceMessageEvent, MessageView } from '../../common/contracts/realtime-events';

/**
 * A small Cyphr API client, as a messenger app would use it: HTTP for commands and history, one
 * WebSocket for live events. Used by the boot tests (through the load balancer) and the benchmarks.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${JSON.stringify(body)}`);
    this.name = 'ApiError';
  }
}

/** One logged-in device of an account. */
export interface Session {
  userId: string;
  username: string;
  password: string;
  deviceId: number;
  /** Access token (15 minutes). */
  token: string;
  /** Spent by `refresh`, which stores the next one here. */
  refreshToken: string;
}

interface SessionAnswer {
  user: { id: string };
  deviceId: number;
  accessToken: string;
  refreshToken: string;
}

/** A conversation's members after a change (POST/DELETE /v1/conversations/{id}/members). */
export interface MembersAnswer {
  conversationId: string;
  memberIds: string[];
  adminId: string | null;
  membershipVersion: string;
}

/** GET /v1/sync: what changed for the calling device since `since`. */
export interface SyncAnswer {
  conversations: Array<{ id: string; latestCursor: string | null; newMessages: number; pageFrom: string }>;
  membershipChanges: Array<{
    conversationId: string;
    userId: string;
    change: 'added' | 'removed';
    by: string;
    at: string;
  }>;
  pendingDeviceMessages: number;
  nextSince: string;
  hasMore: boolean;
}

/** A message as the API returns it in history and pushes it live. */
export type StoredMessage = MessageView;

export type LiveEvent =
  | { type: 'ready'; userId: string; instanceId: string }
  | { type: 'message'; message: StoredMessage }
  | { type: 'receipt'; conversationId: string; userId: string; upToMessageId: string }
  | { type: 'presence'; userId: string; online: boolean }
  | { type: string; [key: string]: unknown };

/** One item for a device's mailbox. */
export interface DeviceMessageInput {
  userId: string;
  deviceId: number;
  /** Pairwise-encrypted for that device, base64 (at most 64 KiB decoded). */
  ciphertext: string;
}

/** A mailbox item as GET /v1/devices/messages lists it (the `device-message` event without its type). */
export type PendingDeviceMessage = Omit<DeviceMessageEvent, 'type'>;

export interface DeviceView {
  id: number;
  name: string;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

export interface SignedKey {
  keyId: number;
  publicKey: string;
  signature: string;
}

export interface KeyUpload {
  signedPreKey: SignedKey;
  lastResortKey?: SignedKey;
  oneTimePreKeys: Array<{ keyId: number; publicKey: string }>;
  identityKey?: string;
  password?: string;
}

export interface KeyBundles {
  userId: string;
  identityKey: string;
  devices: Array<{
    deviceId: number;
    signedPreKey: SignedKey;
    preKey: { keyId: number; publicKey: string; lastResort: boolean; signature?: string } | null;
  }>;
}

export const randomKey = (bytes = 32) => randomBytes(bytes).toString('base64');

export class CyphrClient {
  constructor(readonly baseUrl: string) {}

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    expect = [200, 201, 202, 204],
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as T) : (undefined as T);
    if (!expect.includes(response.status)) throw new ApiError(response.status, parsed, `${method} ${path}`);
    return { status: response.status, body: parsed, headers: response.headers };
  }

  async register(username = `user_${randomUUID().slice(0, 12)}`, password = `pw-${randomUUID()}`): Promise<Session> {
    const { body } = await this.request<SessionAnswer>('POST', '/v1/auth/register', {
      username,
      password,
      identityKey: randomKey(),
    });
    return this.session(body, username, password);
  }

  /** A new device of the account. */
  async login(account: Pick<Session, 'username' | 'password'>, deviceName?: string): Promise<Session> {
    const { username, password } = account;
    const { body } = await this.request<SessionAnswer>('POST', '/v1/auth/login', { username, password, deviceName });
    return this.session(body, username, password);
  }

  /** New access and refresh tokens for the device, stored on the session. */
  async refresh(session: Session): Promise<Session> {
    const { body } = await this.request<{ accessToken: string; refreshToken: string }>('POST', '/v1/auth/refresh', {
      refreshToken: session.refreshToken,
    });
    session.token = body.accessToken;
    session.refreshToken = body.refreshToken;
    return session;
  }

  private session(body: SessionAnswer, username: string, password: string): Session {
    return {
      userId: body.user.id,
      username,
      password,
      deviceId: body.deviceId,
      token: body.accessToken,
      refreshToken: body.refreshToken,
    };
  }

  /** Registers one of the account's devices for wake-up pushes while it has no open socket. */
  async setPush(session: Session, provider: 'apns' | 'fcm' | 'webhook', token: string, deviceId = session.deviceId) {
    await this.request('PUT', `/v1/devices/${deviceId}/push`, { provider, token }, session.token, [204]);
  }

  /** Stops pushes to one of the account's devices. */
  async clearPush(session: Session, deviceId = session.deviceId): Promise<void> {
    await this.request('DELETE', `/v1/devices/${deviceId}/push`, undefined, session.token, [204]);
  }

  async createConversation(owner: Session, memberIds: string[], title?: string): Promise<string> {
    const { body } = await this.request<{ id: string }>('POST', '/v1/conversations', { memberIds, title }, owner.token);
    return body.id;
  }

  /** Sends an opaque ciphertext; resolves with the server's message id once the message is durable in SQS. */
  async send(
    sender: Session,
    conversationId: string,
    ciphertext = randomKey(48),
    clientMessageId: string = randomUUID(),
  ): Promise<{ id: string; clientMessageId: string }> {
    const { body } = await this.request<{ id: string; status: string }>(
      'POST',
      `/v1/conversations/${conversationId}/messages`,
      { clientMessageId, ciphertext },
      sender.token,
      [202],
    );
    return { id: body.id, clientMessageId };
  }

  async history(
    reader: Session,
    conversationId: string,
    before?: string,
    limit = 100,
  ): Promise<{ items: StoredMessage[]; nextCursor: string | null }> {
    const query = new URLSearchParams({ limit: String(limit), ...(before ? { before } : {}) });
    const { body } = await this.request<{ items: StoredMessage[]; nextCursor: string | null }>(
      'GET',
      `/v1/conversations/${conversationId}/messages?${query}`,
      undefined,
      reader.token,
    );
    return body;
  }

  /** Every stored message of a conversation, newest first, following the cursor. */
  async fullHistory(reader: Session, conversationId: string): Promise<StoredMessage[]> {
    const all: StoredMessage[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.history(reader, conversationId, cursor);
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  }

  /** The admin adds members; already-members are no-ops. */
  async addMembers(admin: Session, conversationId: string, userIds: string[]): Promise<MembersAnswer> {
    const { body } = await this.request<MembersAnswer>(
      'POST',
      `/v1/conversations/${conversationId}/members`,
      { userIds },
      admin.token,
      [200],
    );
    return body;
  }

  /** The admin removes anyone; a member passing its own id leaves. */
  async removeMember(actor: Session, conversationId: string, userId: string): Promise<MembersAnswer> {
    const { body } = await this.request<MembersAnswer>(
      'DELETE',
      `/v1/conversations/${conversationId}/members/${userId}`,
      undefined,
      actor.token,
      [200],
    );
    return body;
  }

  /** Catch-up for this device; pass the previous answer's nextSince (none: everything). */
  async sync(device: Session, since?: string): Promise<SyncAnswer> {
    const query = since ? `?${new URLSearchParams({ since })}` : '';
    const { body } = await this.request<SyncAnswer>('GET', `/v1/sync${query}`, undefined, device.token);
    return body;
  }

  /** Forward history (oldest first) after a seq, all pages: what `sync` says to fetch. */
  async historyAfter(reader: Session, conversationId: string, after: string): Promise<StoredMessage[]> {
    const all: StoredMessage[] = [];
    for (let cursor: string | null = after; cursor !== null;) {
      const query: URLSearchParams = new URLSearchParams({ after: cursor, limit: '100' });
      const { body }: { body: { items: StoredMessage[]; nextCursor: string | null } } = await this.request<{
        items: StoredMessage[];
        nextCursor: string | null;
      }>('GET', `/v1/conversations/${conversationId}/messages?${query}`, undefined, reader.token);
      all.push(...body.items);
      cursor = body.nextCursor;
    }
    return all;
  }

  async markRead(reader: Session, conversationId: string, upToMessageId: string): Promise<void> {
    await this.request('POST', `/v1/conversations/${conversationId}/read`, { upToMessageId }, reader.token, [204]);
  }

  /** Sends to devices' mailboxes (at most 1,000 per call); resolves with their ids, in order, once queued. */
  async sendDeviceMessages(sender: Session, messages: DeviceMessageInput[]): Promise<string[]> {
    const { body } = await this.request<{ ids: string[] }>(
      'POST',
      '/v1/devices/messages',
      { messages },
      sender.token,
      [202],
    );
    return body.ids;
  }

  /** What the session's device has not acknowledged yet, oldest first; `more` when others follow. */
  async pendingDeviceMessages(device: Session, limit = 100): Promise<{ items: PendingDeviceMessage[]; more: boolean }> {
    const { body } = await this.request<{ items: PendingDeviceMessage[]; more: boolean }>(
      'GET',
      `/v1/devices/messages?limit=${limit}`,
      undefined,
      device.token,
    );
    return body;
  }

  /** Deletes these from the device's mailbox; conversation message ids among them send `delivered` to senders. */
  async ackDeviceMessages(device: Session, ids: string[]): Promise<void> {
    await this.request('POST', '/v1/devices/messages/ack', { ids }, device.token, [204]);
  }

  /** A user's public profile by username (case-insensitive). */
  async userByUsername(
    session: Session,
    username: string,
  ): Promise<{ id: string; username: string; identityKey: string }> {
    const path = `/v1/usernames/${encodeURIComponent(username)}`;
    return (
      await this.request<{ id: string; username: string; identityKey: string }>('GET', path, undefined, session.token)
    ).body;
  }

  /** The account's devices. */
  async devices(session: Session): Promise<DeviceView[]> {
    return (await this.request<DeviceView[]>('GET', '/v1/devices', undefined, session.token)).body;
  }

  /** Removes one of the account's devices (the session's own one too: that is a logout). */
  async removeDevice(session: Session, deviceId: number): Promise<void> {
    await this.request('DELETE', `/v1/devices/${deviceId}`, undefined, session.token, [204]);
  }

  /** Publishes the session's device's prekeys; answers how many one-time prekeys it now has. */
  async uploadKeys(session: Session, keys: KeyUpload): Promise<{ oneTimePreKeyCount: number }> {
    return (await this.request<{ oneTimePreKeyCount: number }>('PUT', '/v1/keys', keys, session.token)).body;
  }

  /** One bundle per device of the user, each taking one of that device's one-time prekeys. */
  async keyBundles(session: Session, userId: string): Promise<KeyBundles> {
    return (await this.request<KeyBundles>('GET', `/v1/users/${userId}/keys`, undefined, session.token)).body;
  }

  /** Opens the live connection; resolves once the server said `ready` (subscribed on its instance). */
  connect(session: Session): Promise<LiveConnection> {
    const url = `${this.baseUrl.replace(/^http/, 'ws')}/v1/ws`;
    return LiveConnection.open(url, session.token);
  }
}

/** One WebSocket: records every event, and lets a caller wait for the one it expects. */
export class LiveConnection {
  readonly events: LiveEvent[] = [];
  /** Value of the X-Cyphr-Backend header the load balancer put on the upgrade response, if any. */
  backend: string | undefined;
  instanceId: string | undefined;
  private waiters: Array<{ match: (event: LiveEvent) => boolean; resolve: (event: LiveEvent) => void }> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const event = JSON.parse(data.toString()) as LiveEvent;
      this.events.push(event);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(event)) return true;
        waiter.resolve(event);
        return false;
      });
    });
  }

  static async open(url: string, token: string): Promise<LiveConnection> {
    const ws = new WebSocket(url, ['cyphr', `bearer.${token}`]);
    const connection = new LiveConnection(ws);
    ws.once('upgrade', (response) => (connection.backend = response.headers['x-cyphr-backend'] as string | undefined));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_request, response) =>
        reject(new Error(`WebSocket refused: HTTP ${response.statusCode}`)),
      );
    });
    const ready = await connection.next((event) => event.type === 'ready', 10_000);
    connection.instanceId = (ready as { instanceId: string }).instanceId;
    return connection;
  }

  /** The first recorded or future event that matches. */
  next(match: (event: LiveEvent) => boolean, timeoutMs = 10_000): Promise<LiveEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching WebSocket event within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (event) => (clearTimeout(timer), resolve(event)) });
    });
  }

  /** The `ack` frame: the same as CyphrClient.ackDeviceMessages, on the socket (no answer unless refused). */
  ack(ids: string[]): void {
    this.ws.send(JSON.stringify({ type: 'ack', ids }));
  }

  /** Message events received so far, by message id. */
  messageIds(): Set<string> {
    return new Set(
      this.events.flatMap((event) =>
        event.type === 'message' ? [(event as { message: StoredMessage }).message.id] : [],
      ),
    );
  }

  close(): void {
    this.ws.terminate();
  }
}
