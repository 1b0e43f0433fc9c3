/**
 * The client a messenger app uses: accounts and devices, conversations, sending and receiving end-to-end encrypted
 * text. It wires the parts (one file each) and runs every state change one at a time, so ratchets and sender keys
 * never see two writers.
 */
import type { MessageView } from '../../common/contracts/realtime-events';
import { fromBase64 } from '../crypto/bytes';
import { formatSafetyNumber, safetyNumber } from '../crypto/safety-number';
import { AccountStore } from './account';
import { CatchUp, MembershipChange } from './catch-up';
import { Conversations } from './conversations';
import { Devices } from './devices';
import { ClientStateError } from './errors';
import { History } from './history';
import { Inbox } from './inbox';
import { KeyManager } from './key-manager';
import { Linking } from './linking';
import { LiveEvents } from './live-events';
import { MessageStore } from './message-store';
import { SerialQueue } from './mutex';
import { Outbox } from './outbox';
import { SenderKeys } from './sender-keys';
import { SessionStore } from './sessions';
import { LiveSocket } from './socket';
import { Transport } from './transport';
import type { ClientOptions, DeviceSummary, ReceivedMessage } from './types';

interface MembersAnswer {
  memberIds: string[];
}

type Listener = (value: never) => void;

export class MessengerClient {
  private readonly queue = new SerialQueue();
  private readonly listeners = new Map<string, Listener[]>();
  private readonly transport: Transport;
  private readonly account: AccountStore;
  private readonly keys: KeyManager;
  private readonly sessions: SessionStore;
  private readonly senderKeys: SenderKeys;
  private readonly conversations: Conversations;
  private readonly messages: MessageStore;
  private readonly catchUp: CatchUp;
  private readonly inbox: Inbox;
  private readonly deviceManager: Devices;
  private readonly outbox: Outbox;
  private readonly liveEvents: LiveEvents;
  private readonly historyReader: History;
  private socket: LiveSocket | undefined;

  private constructor(private readonly options: ClientOptions) {
    const store = options.store;
    const self = () => this.account.self();
    const onError = (error: Error) => this.emit('error', error);
    this.transport = new Transport(options.server.replace(/\/$/, ''), store, options.fetch ?? globalThis.fetch);
    this.account = new AccountStore(store, this.transport);
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
    const linking = new Linking(store, this.transport, this.keys, self);
    this.conversations = new Conversations(store, this.transport);
    this.messages = new MessageStore(store);
    this.inbox = new Inbox(this.sessions, this.senderKeys, linking, this.messages, {
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
      (change) => this.membershipChanged(change),
    );
    this.deviceManager = new Devices(
      store,
      this.transport,
      this.account,
      this.keys,
      this.sessions,
      linking,
      this.catchUp,
      this.messages,
      onError,
    );
    this.outbox = new Outbox(this.transport, this.conversations, this.sessions, this.senderKeys, this.messages, self);
    this.liveEvents = new LiveEvents(this.inbox, this.conversations, this.sessions, this.senderKeys, this.keys);
    this.historyReader = new History(this.transport, this.inbox, this.messages);
  }

  /** A client over the state in `options.store` (empty for a new install: register or login next). */
  static async open(options: ClientOptions): Promise<MessengerClient> {
    const client = new MessengerClient(options);
    await client.transport.load();
    await client.account.load();
    await client.keys.load();
    return client;
  }

  /** This device holds the account's identity key (registered here, or linked and approved). */
  get linked(): boolean {
    return this.keys.hasIdentity;
  }

  /** This device's address, once registered or logged in. */
  get address(): { userId: string; deviceId: number } | undefined {
    return this.account.address;
  }

  /** A new account: its identity key, device 1 and its prekeys. */
  register(username: string, password: string, deviceName?: string): Promise<{ userId: string; deviceId: number }> {
    return this.queue.run(() => this.deviceManager.register(username, password, deviceName));
  }

  /** A new device of an existing account. It reads nothing until another device approves it with `linkCode`. */
  login(
    username: string,
    password: string,
    deviceName: string,
  ): Promise<{ userId: string; deviceId: number; linkCode: string }> {
    return this.queue.run(() => this.deviceManager.login(username, password, deviceName));
  }

  /** On a linked device: hands the identity key to the new device, if `linkCode` is the one it shows. */
  approveDevice(deviceId: number, linkCode: string): Promise<void> {
    return this.queue.run(() => this.deviceManager.approve(deviceId, linkCode));
  }

  devices(): Promise<DeviceSummary[]> {
    return this.deviceManager.list();
  }

  /** Removes one of the account's devices; the next send to each conversation rotates our sender key past it. */
  removeDevice(deviceId: number): Promise<void> {
    return this.queue.run(() => this.deviceManager.remove(deviceId));
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
      if (userId === this.account.self().userId) {
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
      return this.outbox.sendText(conversationId, text);
    });
  }

  /** Opens the live connection; resolves once the server is ready. Catches up on every (re)connect. */
  async connect(): Promise<void> {
    this.account.self();
    this.socket?.close();
    const url = `${this.transport.baseUrl.replace(/^http/, 'ws')}/v1/ws`;
    const socket = new LiveSocket(
      url,
      this.options.webSocket,
      this.transport,
      (frame) =>
        void this.queue
          .run(() =>
            this.liveEvents.handle(frame, {
              selfUserId: () => this.account.self().userId,
              ack: (ids) => socket.send({ type: 'ack', ids }),
              message: (message) => this.emit('message', message),
            }),
          )
          .catch((e: Error) => this.emit('error', e)),
      () =>
        void this.queue
          .run(() => this.catchUp.run())
          .then((messages) => messages.forEach((m) => this.emit('message', m)))
          .catch((e: Error) => this.emit('error', e)),
      (e) => this.emit('error', e),
    );
    this.socket = socket;
    await socket.open();
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
      this.account.self();
      const messages = [...(await this.messages.takeHeld()), ...(await this.catchUp.run())];
      if (this.linked) {
        await this.keys.rotateSignedPreKeyIfDue();
        await this.keys.refillIfLow();
      }
      return messages;
    });
  }

  /**
   * Decrypts one conversation message as the API carries it (a `message` event's `message`, a history item), or
   * throws the typed error: NoSenderKey (this device never got the sender's key, e.g. it was removed before),
   * InvalidSignature or DecryptionFailed (tampered), DuplicateMessage (replayed), InvalidEnvelope (misaddressed,
   * or a sender other than the server reports). For apps that fetch messages themselves, and for tests.
   */
  decryptMessage(message: MessageView): Promise<ReceivedMessage> {
    return this.queue.run(() => this.inbox.open(message));
  }

  history(conversationId: string): Promise<ReceivedMessage[]> {
    return this.queue.run(() => this.historyReader.read(conversationId));
  }

  /**
   * 60 digits in groups of five; compare with the other user's (aloud or side by side). While a changed key awaits
   * trustIdentity, this is the NEW key's number: the one to verify before trusting it.
   */
  async safetyNumber(userId: string): Promise<string> {
    let record = await this.sessions.identityOf(userId);
    if (!record) {
      await this.queue.run(() => this.sessions.devicesOf(userId));
      record = await this.sessions.identityOf(userId);
    }
    if (!record) throw new ClientStateError(`no identity key known for user ${userId}`);
    return formatSafetyNumber(
      safetyNumber(
        { userId: this.account.self().userId, identityKey: this.keys.identity().publicKey },
        { userId, identityKey: fromBase64(record.pending ?? record.trusted) },
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

  /**
   * Offline for a membership change: if we were removed, our sender key there must not be used again; an added
   * user's devices are looked up afresh at the next send (our list may be old). Removed users need nothing: they
   * are no longer targets, and the next send rotates past them.
   */
  private async membershipChanged(change: MembershipChange): Promise<void> {
    const self = this.account.self().userId;
    if (change.change === 'removed' && change.userId === self) await this.senderKeys.forget(change.conversationId);
    if (change.change === 'added' && change.userId !== self) await this.sessions.markDirty(change.userId);
  }

  /** The approval arrived: trust what the account trusts, publish prekeys, hand our sender keys to every member. */
  private async finishLink(trusted: Record<string, string>): Promise<void> {
    for (const [userId, identityKey] of Object.entries(trusted)) await this.sessions.noteIdentity(userId, identityKey);
    await this.keys.publishInitialKeys();
    for (const conversationId of await this.conversations.refreshAll()) {
      try {
        await this.outbox.distribute(conversationId);
      } catch (e) {
        this.emit('error', e as Error);
      }
    }
  }
}
