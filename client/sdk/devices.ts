/**
 * The account's devices: registering the first, logging in (linking) another, approving a link, listing and
 * removing them.
 */
import { getJson, KeyValueStore } from '../storage/key-value-store';
import { toBase64 } from '../crypto/bytes';
import { generateIdentityKeyPair } from '../crypto/identity';
import { AccountStore, SessionAnswer } from './account';
import { CatchUp } from './catch-up';
import { encodePairwisePayload } from './device-payloads';
import { HttpError } from './errors';
import { KeyManager } from './key-manager';
import { Linking } from './linking';
import { MessageStore } from './message-store';
import { SessionStore } from './sessions';
import { Transport } from './transport';
import type { DeviceSummary } from './types';

/** How long approve waits for the new device's link request to reach the mailbox: 10 looks, 0.5 s apart. */
const LINK_REQUEST_ATTEMPTS = 10;
const LINK_REQUEST_RETRY_MS = 500;

export class Devices {
  constructor(
    private readonly store: KeyValueStore,
    private readonly transport: Transport,
    private readonly account: AccountStore,
    private readonly keys: KeyManager,
    private readonly sessions: SessionStore,
    private readonly linking: Linking,
    private readonly catchUp: CatchUp,
    private readonly messages: MessageStore,
    private readonly onError: (error: Error) => void,
  ) {}

  /** A new account: its identity key, device 1 and its prekeys. */
  async register(username: string, password: string, deviceName?: string) {
    this.account.requireNone();
    const identity = generateIdentityKeyPair();
    const answer = await this.transport.request<SessionAnswer>(
      'POST',
      '/v1/auth/register',
      { username, password, identityKey: toBase64(identity.publicKey), deviceName },
      { anonymous: true },
    );
    await this.account.save(answer, username);
    await this.keys.setIdentity(identity);
    await this.keys.publishInitialKeys();
    return { userId: answer.user.id, deviceId: answer.deviceId };
  }

  /** A new device of an existing account, unlinked: answers the code another device must approve. */
  async login(username: string, password: string, deviceName: string) {
    this.account.requireNone();
    const answer = await this.transport.request<SessionAnswer>(
      'POST',
      '/v1/auth/login',
      { username, password, deviceName },
      { anonymous: true },
    );
    await this.account.save(answer, username);
    const linkCode = await this.linking.requestLink();
    return { userId: answer.user.id, deviceId: answer.deviceId, linkCode };
  }

  /** On a linked device: hands the identity key (and whom we trust) to the new device, if the code is its own. */
  async approve(deviceId: number, linkCode: string): Promise<void> {
    this.keys.identity();
    // The request may still be on its way to our mailbox (the worker stores it): look a few times. What else is
    // there waits for the next sync.
    for (let attempt = 0; !(await this.linking.hasRequest(deviceId)) && attempt < LINK_REQUEST_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, LINK_REQUEST_RETRY_MS));
      await this.messages.hold(await this.catchUp.mailbox());
    }
    await this.linking.approve(deviceId, linkCode, await this.trustedIdentities());
    await this.sessions.markDirty(this.account.self().userId);
  }

  async list(): Promise<DeviceSummary[]> {
    const list = await this.transport.request<DeviceSummary[]>('GET', '/v1/devices');
    return list.map(({ id, name, current }) => ({ id, name, current }));
  }

  /** The next send to each conversation rotates our sender key past the removed device. */
  async remove(deviceId: number): Promise<void> {
    const self = this.account.self();
    await this.transport.request('DELETE', `/v1/devices/${deviceId}`);
    await this.sessions.forgetDevice({ userId: self.userId, deviceId });
    await this.sessions.markDirty(self.userId);
    if (deviceId !== self.deviceId) await this.announceChanged();
  }

  /**
   * Tells every device we have a session with that our account's devices changed, over the pairwise sessions:
   * contacts that were offline (or a server that hid `devices-changed`) still rotate past the removed device.
   * Best effort: a device that is gone by now (404) is skipped.
   */
  private async announceChanged(): Promise<void> {
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
          if (!(error instanceof HttpError && error.status === 404)) this.onError(error as Error);
        });
      }
    }
  }

  /** Identity keys (base64) of the users we trust, by user id: a linked device starts from the same trust. */
  private async trustedIdentities(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const key of await this.store.list('identity/')) {
      const record = await getJson<{ trusted: string }>(this.store, key);
      if (record) out[key.slice('identity/'.length)] = record.trusted;
    }
    return out;
  }
}
