/**
 * Sender keys per conversation: ours (with the record of which devices hold its current key) and those other devices
 * distributed to us. Distribution goes over the pairwise sessions through the device mailbox.
 */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import { DeviceAddress } from '../crypto/address';
import { fromBase64, toBase64 } from '../crypto/bytes';
import { decodeEnvelope, openGroup, sealGroup } from '../crypto/envelope';
import {
  createSenderKey,
  decodeDistribution,
  encodeDistribution,
  OwnSenderKey,
  processDistribution,
  SenderKeyRecord,
  senderKeyDistribution,
} from '../crypto/sender-keys';
import { encodePairwisePayload } from './device-payloads';
import { HttpError } from './errors';
import { holderKey, planDistribution } from './sender-key-plan';
import { SessionStore } from './sessions';
import { Transport } from './transport';

interface OwnRecord {
  key: OwnSenderKey;
  /** Devices (`user.device`) that hold `key`. */
  holders: string[];
}

/** Most mailbox items in one request (the API's bound). */
const MAX_DEVICE_MESSAGES = 1000;

export class SenderKeys {
  constructor(
    private readonly store: KeyValueStore,
    private readonly transport: Transport,
    private readonly sessions: SessionStore,
    private readonly self: () => DeviceAddress,
  ) {}

  /** Makes sure every target device holds our current key, rotating first if a holder should no longer read. */
  async distribute(conversationId: string, targets: DeviceAddress[]): Promise<void> {
    let own = await getJson<OwnRecord>(this.store, `sender-key/own/${conversationId}`);
    const plan = planDistribution(own?.holders, targets);
    if (plan.rotate || !own) {
      own = { key: createSenderKey(), holders: [] };
      await this.save(conversationId, own);
    }
    if (plan.sendTo.length === 0) return;
    const distribution = toBase64(encodeDistribution(senderKeyDistribution(own.key)));
    const payload = encodePairwisePayload({ kind: 'sender-key', conversationId, distribution });
    const messages = [];
    for (const target of plan.sendTo) {
      const envelope = await this.sessions.encrypt(target, payload);
      messages.push({ userId: target.userId, deviceId: target.deviceId, ciphertext: toBase64(envelope) });
    }
    for (let i = 0; i < messages.length; i += MAX_DEVICE_MESSAGES) {
      try {
        await this.transport.request('POST', '/v1/devices/messages', {
          messages: messages.slice(i, i + MAX_DEVICE_MESSAGES),
        });
      } catch (e) {
        // 404: one of the devices is gone; the caller refreshes device lists and tries again.
        if (e instanceof HttpError && e.status === 404) {
          for (const userId of new Set(plan.sendTo.map((t) => t.userId))) await this.sessions.markDirty(userId);
        }
        throw e;
      }
    }
    await this.save(conversationId, { ...own, holders: [...own.holders, ...plan.sendTo.map(holderKey)] });
  }

  /** Encrypts under our current key (distribute first). Returns the group envelope. */
  async encrypt(conversationId: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const own = await getJson<OwnRecord>(this.store, `sender-key/own/${conversationId}`);
    if (!own) throw new Error('no sender key: distribute first');
    const out = sealGroup({ senderKey: own.key, sender: this.self(), conversationId, plaintext });
    await this.save(conversationId, { ...own, key: out.senderKey });
    return out.envelope;
  }

  /** A distribution another device sent us. */
  async receive(conversationId: string, sender: DeviceAddress, distribution: string): Promise<void> {
    const key = this.receivedKey(conversationId, sender);
    const record = await getJson<SenderKeyRecord>(this.store, key);
    await putJson(this.store, key, processDistribution(record, decodeDistribution(fromBase64(distribution))));
  }

  /** Opens a group message; the envelope's sender must be the one the server reports. */
  async decrypt(
    conversationId: string,
    envelope: Uint8Array,
  ): Promise<{ plaintext: Uint8Array; sender: DeviceAddress }> {
    const sender = decodeEnvelope(envelope).sender;
    const key = this.receivedKey(conversationId, sender);
    const out = openGroup({ envelope, conversationId, record: await getJson<SenderKeyRecord>(this.store, key) });
    await putJson(this.store, key, out.record);
    return { plaintext: out.plaintext, sender: out.sender };
  }

  /**
   * The user's devices start over (a new identity key we now trust): they get our current keys again at the next
   * send. No rotation: they are still members.
   */
  async forgetHoldersOf(userId: string): Promise<void> {
    for (const key of await this.store.list('sender-key/own/')) {
      const own = await getJson<OwnRecord>(this.store, key);
      if (!own) continue;
      await putJson(this.store, key, { ...own, holders: own.holders.filter((h) => !h.startsWith(`${userId}.`)) });
    }
  }

  /** We left or were removed: our key must not be used again if we come back. */
  async forget(conversationId: string): Promise<void> {
    await this.store.delete(`sender-key/own/${conversationId}`);
  }

  private receivedKey(conversationId: string, sender: DeviceAddress): string {
    return `sender-key/in/${conversationId}/${sender.userId}/${sender.deviceId}`;
  }

  private save(conversationId: string, record: OwnRecord): Promise<void> {
    return putJson(this.store, `sender-key/own/${conversationId}`, record);
  }
}
