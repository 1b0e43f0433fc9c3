/**
 * The client a messenger app uses: accounts and devices, conversations, sending and receiving end-to-end encrypted
 * text. It composes the parts (transport, keys, sessions, sender keys, linking, inbox, catch-up, history) and runs
 * every state change one at a time, so ratchets and sender keys never see two writers.
 */
import type { MessageView } from '../../common/contracts/realtime-events';
import { getJson, putJson } from '../storage/key-value-store';
import { DeviceAddress } from '../crypto/address';
import { fromBase64, toBase64, utf8Encode } from '../crypto/bytes';
import { generateIdentityKeyPair } from '../crypto/identity';
import { randomBytes } from '../crypto/primitives';
import { formatSafetyNumber, safetyNumber } from '../crypto/safety-number';
import { CatchUp } from './catch-up';
import { Conversations } from './conversations';
import { encodePairwisePayload } from './device-payloads';
import { ClientStateError, HttpError } from './errors';
import { History } from './history';
import { Inbox, MailboxItem } from './inbox';
import { KeyManager } from './key-manager';
import { Linking } from './linking';
import { MessageStore } from './message-store';
import { SerialQueue } from './mutex';
import { SenderKeys } from './sender-keys';
import { SessionStore } from './sessions';
import { LiveSocket, ServerFrame } from './socket';
import { Transport } from './transport';
import type { ClientOptions, DeviceSummary, ReceivedMessage } from './types';

const ACCOUNT_KEY = 'account';

interface Account {
  userId: string;
  username: string;
  deviceId: number;
}

interface SessionAnswer {
  user: { id: string };
  deviceId: number;
  accessToken: string;
  refreshToken: string;
}

interface MembersAnswer {
  memberIds: string[];
}

type Listener = (value: never) => void;

/** A random (version 4) UUID from the crypto core's random source, for clientMessageId. */
function uuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class MessengerClient {
  private account: Account | undefined;
  private readonly queue = new SerialQueue();
  private readonly listeners = new Map<string, Listener[]>();
  private readonly transport: Transport;
  private readonly keys: KeyManager;
  private readonly sessions: SessionStore;
  private readonly senderKeys: SenderKeys;
  private readonly linking: Linking;
  private readonly conversations: Conversations;
  private readonly messages: MessageStore;
  private readonly inbox: Inbox;
  private readonly catchUp: CatchUp;
  private readonly historyReader: History;
  private socket: LiveSocket | undefined;

  private constructor(private readonly options: ClientOptions) {
    const store = options.store;
    const self = () => this.self();
    const onError = (error: Error) => this.emit('error', error);
    this.transport = new Transport(options.server.replace(/\/$/, ''), store, options.fetch ?? globalThis.fetch);
    this.keys = new KeyManager(store, this.transport);
    this.sessions = new SessionStore(
      store,
      this.transport,
      this.keys,
      self,
      (userId) => this.emit('identity-changed', { userId }),
      onError,
    );
    this.senderKeys = new SenderKeys(store, this.transport, this.sessions, self);
    this.linking = new Linking(store, this.transport, this.keys, self);
    this.conversations = new Conversations(store, this.transport);
    this.messages = new MessageStore(store);
    this.inbox = new Inbox(this.sessions, this.senderKeys, this.linking, this.messages, {
      self,
      linked: () => this.linked,
      onLinked: (trusted) => this.finishLink(trusted),
      onError,
    });
    this.catchUp = new CatchUp(
      store,
      this.transport,
      this.inbox,
      this.conversations,
      () => this.linked,
      (conversationId) => this.senderKeys.forget(conversationId),
      () => this.self().userId,
    );
    this.historyReader = new History(this.transport, this.inbox, this.messages);
  }

  /** A client over the state in `options.store` (empty for a new install: register or login next). */
  static async open(options: ClientOptions): Promise<MessengerClient> {
    const client = new MessengerClient(options);
    client.account = await getJson<Account>(options.store, ACCOUNT_KEY);
    await client.transport.load();
    await client.keys.load();
    return client;
  }

  /** This device holds the account's identity key (registered here, or linked and approved). */
  get linked(): boolean {
    return this.keys.hasIdentity;
  }

  /** This device's address, once registered or logged in. */
  get address(): DeviceAddress | undefined {
    return this.account ? { userId: this.account.userId, deviceId: this.account.deviceId } : undefined;
  }

  private self(): DeviceAddress {
    if (!this.account) throw new ClientStateError('no account on this device: register or login first');
    return { userId: this.account.userId, deviceId: this.account.deviceId };
  }

  /** A new account: its identity key, device 1 and its prekeys. */
  register(username: string, password: string, deviceName?: string): Promise<{ userId: string; deviceId: number }> {
    return this.queue.run(async () => {
      this.requireNoAccount();
      const identity = generateIdentityKeyPair();
      const answer = await this.transport.request<SessionAnswer>(
        'POST',
        '/v1/auth/register',
        { username, password, identityKey: toBase64(identity.publicKey), deviceName },
        { anonymous: true },
      );
      await this.saveSession(answer, username);
      await this.keys.setIdentity(identity);
      await this.keys.publishInitialKeys();
      return { userId: answer.user.id, deviceId: answer.deviceId };
    });
  }

  /** A new device of an existing account. It reads nothing until another device approves it with `linkCode`. */
  login(
    username: string,
    password: string,
    deviceName: string,
  ): Promise<{ userId: string; deviceId: number; linkCode: string }> {
    return this.queue.run(async () => {
      this.requireNoAccount();
      const answer = await this.transport.request<SessionAnswer>(
        'POST',
        '/v1/auth/login',
        { username, password, deviceName },
        { anonymous: true },
      );
      await this.saveSession(answer, username);
      const linkCode = await this.linking.requestLink();
      return { userId: answer.user.id, deviceId: answer.deviceId, linkCode };
    });
  }

  /** On a linked device: hands the identity key to the new device, if `linkCode` is the one it shows. */
  approveDevice(deviceId: number, linkCode: string): Promise<void> {
    return this.queue.run(async () => {
      this.keys.identity();
      if (!(await this.linking.hasRequest(deviceId))) await this.messages.hold(await this.catchUp.mailbox());
      await this.linking.approve(deviceId, linkCode, await this.trustedIdentities());
      await this.sessions.markDirty(this.self().userId);
    });
  }

  async devices(): Promise<DeviceSummary[]> {
    const list = await this.transport.request<DeviceSummary[]>('GET', '/v1/devices');
    return list.map(({ id, name, current }) => ({ id, name, current }));
  }

  /** Removes one of the account's devices; the next send to each conversation rotates our sender key past it. */
  removeDevice(deviceId: number): Promise<void> {
    return this.queue.run(async () => {
      await this.transport.request('DELETE', `/v1/devices/${deviceId}`);
      await this.sessions.forgetDevice({ userId: this.self().userId, deviceId });
      await this.sessions.markDirty(this.self().userId);
      if (deviceId !== this.self().deviceId) await this.announceDevicesChanged();
    });
  }

  /**
   * Tells every device we have a session with that our account's devices changed, over the pairwise sessions:
   * contacts that were offline (or a server that hid `devices-changed`) still rotate past the removed device.
   * Best effort: a device that is gone by now (404) is skipped.
   */
  private async announceDevicesChanged(): Promise<void> {
    const payload = encodePairwisePayload({ kind: 'devices-changed' });
    const messages = [];
    for (const peer of await this.sessions.sessionPeers()) {
      const envelope = await this.sessions.encrypt(peer, payload);
      messages.push({ userId: peer.userId, deviceId: peer.deviceId, ciphertext: toBase64(envelope) });
    }
    if (messages.length === 0) return;
    try {
      await this.transport.request('POST', '/v1/devices/messages', { messages });
    } catch (e) {
      if (!(e instanceof HttpError && e.status === 404)) throw e;
      for (const message of messages) {
        await this.transport.request('POST', '/v1/devices/messages', { messages: [message] }).catch((error) => {
          if (!(error instanceof HttpError && error.status === 404)) this.emit('error', error as Error);
        });
      }
    }
  }

  async userIdOf(username: string): Promise<string> {
    const profile = await this.transport.request<{ id: string }>(
      'GET',
      `/v1/usernames/${encodeURIComponent(username)}`,
    );
    return profile.id;
  }

  /** The username of a user id (public profile). */
  async usernameOf(userId: string): Promise<string> {
    const profile = await this.transport.request<{ username: string }>(
      'GET',
      `/v1/users/${encodeURIComponent(userId)}`,
    );
    return profile.username;
  }

  createConversation(memberUserIds: string[], title?: string): Promise<string> {
    return this.queue.run(async () => {
      const view = await this.transport.request<{ id: string; memberIds: string[] }>('POST', '/v1/conversations', {
        memberIds: memberUserIds,
        ...(title === undefined ? {} : { title }),
      });
      await this.conversations.setMembers(view.id, view.memberIds);
      return view.id;
    });
  }

  addMember(conversationId: string, userId: string): Promise<void> {
    return this.queue.run(async () => {
      const answer = await this.transport.request<MembersAnswer>(
        'POST',
        `/v1/conversations/${conversationId}/members`,
        {
          userIds: [userId],
        },
      );
      await this.conversations.setMembers(conversationId, answer.memberIds);
    });
  }

  /** The next send rotates our sender key, so the removed member cannot read what follows. */
  removeMember(conversationId: string, userId: string): Promise<void> {
    return this.queue.run(async () => {
      const answer = await this.transport.request<MembersAnswer>(
        'DELETE',
        `/v1/conversations/${conversationId}/members/${encodeURIComponent(userId)}`,
      );
      if (userId === this.self().userId) {
        await this.conversations.markStale(conversationId);
        await this.senderKeys.forget(conversationId);
      } else {
        await this.conversations.setMembers(conversationId, answer.memberIds);
      }
    });
  }

  sendText(conversationId: string, text: string): Promise<{ messageId: string }> {
    return this.queue.run(async () => {
      this.keys.identity();
      // Offline (no socket), device changes reach us only through the mailbox: a device linked since our last look
      // announces itself there with its sender key. Read it first so the new device gets ours too.
      if (!this.socket) await this.messages.hold(await this.catchUp.mailbox());
      try {
        await this.distribute(conversationId);
      } catch (e) {
        // A device vanished between our last look and this send (404): its user was marked dirty; look again once.
        if (!(e instanceof HttpError && e.status === 404)) throw e;
        await this.distribute(conversationId);
      }
      const envelope = await this.senderKeys.encrypt(conversationId, utf8Encode(text));
      const answer = await this.transport.request<{ id: string }>(
        'POST',
        `/v1/conversations/${conversationId}/messages`,
        { clientMessageId: uuid(), ciphertext: toBase64(envelope) },
      );
      const self = this.self();
      await this.messages.save({
        conversationId,
        messageId: answer.id,
        sender: self.userId,
        senderDeviceId: self.deviceId,
        text,
        sentAt: new Date().toISOString(),
      });
      return { messageId: answer.id };
    });
  }

  private async distribute(conversationId: string): Promise<void> {
    const members = await this.conversations.members(conversationId);
    const targets: DeviceAddress[] = [];
    for (const userId of members) targets.push(...(await this.sessions.devicesOf(userId)));
    await this.senderKeys.distribute(conversationId, targets);
  }

  /** Opens the live connection; resolves once the server is ready. Catches up on every (re)connect. */
  async connect(): Promise<void> {
    this.self();
    this.socket?.close();
    const url = `${this.transport.baseUrl.replace(/^http/, 'ws')}/v1/ws`;
    this.socket = new LiveSocket(
      url,
      this.options.webSocket,
      this.transport,
      (frame) => void this.queue.run(() => this.onFrame(frame)).catch((e: Error) => this.emit('error', e)),
      () =>
        void this.queue
          .run(() => this.catchUp.run())
          .then((messages) => messages.forEach((m) => this.emit('message', m)))
          .catch((e: Error) => this.emit('error', e)),
      (e) => this.emit('error', e),
    );
    await this.socket.open();
  }

  on(event: 'message', listener: (message: ReceivedMessage) => void): void;
  on(event: 'identity-changed', listener: (change: { userId: string }) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: string, listener: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }

  private emit(event: string, value: unknown): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (v: unknown) => void)(value);
      } catch {
        // A listener's failure is the app's; it must not break message processing.
      }
    }
  }

  /** Catch-up: returns the messages newly decrypted (not emitted as events), and acknowledges them. */
  sync(): Promise<ReceivedMessage[]> {
    return this.queue.run(async () => {
      this.self();
      const messages = [...(await this.messages.takeHeld()), ...(await this.catchUp.run())];
      if (this.linked) await this.keys.rotateSignedPreKeyIfDue();
      return messages;
    });
  }

  history(conversationId: string): Promise<ReceivedMessage[]> {
    return this.queue.run(() => this.historyReader.read(conversationId));
  }

  /** 60 digits in groups of five; compare with the other user's (aloud or side by side). */
  async safetyNumber(userId: string): Promise<string> {
    let record = await this.sessions.identityOf(userId);
    if (!record) {
      await this.queue.run(() => this.sessions.devicesOf(userId));
      record = await this.sessions.identityOf(userId);
    }
    if (!record) throw new ClientStateError(`no identity key known for user ${userId}`);
    const theirs = record.pending ?? record.trusted;
    return formatSafetyNumber(
      safetyNumber(
        { userId: this.self().userId, identityKey: this.keys.identity().publicKey },
        { userId, identityKey: fromBase64(theirs) },
      ),
    );
  }

  /** Accepts the user's new identity key: sending to them resumes, over new sessions. */
  trustIdentity(userId: string): Promise<void> {
    return this.queue.run(async () => {
      await this.sessions.trust(userId);
      await this.senderKeys.forgetHoldersOf(userId);
    });
  }

  async close(): Promise<void> {
    this.socket?.close();
    this.socket = undefined;
    await this.queue.run(async () => undefined);
  }

  private async onFrame(frame: ServerFrame): Promise<void> {
    switch (frame.type) {
      case 'message': {
        const message = await this.inbox.conversationMessage(frame.message as MessageView);
        if (!message) return;
        this.socket?.send({ type: 'ack', ids: [message.messageId] });
        this.emit('message', message);
        return;
      }
      case 'device-message': {
        const released = await this.inbox.deviceMessage(frame as unknown as MailboxItem);
        this.socket?.send({ type: 'ack', ids: [frame.id as string, ...released.map((m) => m.messageId)] });
        released.forEach((m) => this.emit('message', m));
        return;
      }
      case 'members-changed': {
        const memberIds = frame.memberIds as string[];
        const conversationId = frame.conversationId as string;
        if (memberIds.includes(this.self().userId)) return this.conversations.setMembers(conversationId, memberIds);
        await this.conversations.markStale(conversationId);
        return this.senderKeys.forget(conversationId);
      }
      case 'devices-changed':
      case 'device-added':
        return this.sessions.markDirty(frame.userId as string);
      case 'identity-changed':
        return this.sessions.noteIdentity(frame.userId as string, frame.identityKey as string);
      case 'prekeys-low':
        if (this.linked) await this.keys.refillOneTimePreKeys();
        return;
      default:
        return;
    }
  }

  /** The approval arrived: trust what the account trusts, publish prekeys, hand our sender keys to every member. */
  private async finishLink(trusted: Record<string, string>): Promise<void> {
    for (const [userId, identityKey] of Object.entries(trusted)) await this.sessions.noteIdentity(userId, identityKey);
    await this.keys.publishInitialKeys();
    for (const conversationId of await this.conversations.refreshAll()) {
      try {
        await this.distribute(conversationId);
      } catch (e) {
        this.emit('error', e as Error);
      }
    }
  }

  private async trustedIdentities(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const key of await this.options.store.list('identity/')) {
      const record = await getJson<{ trusted: string }>(this.options.store, key);
      if (record) out[key.slice('identity/'.length)] = record.trusted;
    }
    return out;
  }

  private requireNoAccount(): void {
    if (this.account) throw new ClientStateError(`this store already holds device ${this.account.deviceId}`);
  }

  private async saveSession(answer: SessionAnswer, username: string): Promise<void> {
    await this.transport.setTokens({ accessToken: answer.accessToken, refreshToken: answer.refreshToken });
    const account = { userId: answer.user.id, username, deviceId: answer.deviceId };
    await putJson(this.options.store, ACCOUNT_KEY, account);
    this.account = account;
  }
}
