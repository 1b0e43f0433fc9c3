/**
 * Everything that arrives for this device, live or by catch-up: mailbox items (link requests, link approvals, sender
 * keys over pairwise sessions) and conversation messages (decrypted with the sender device's sender key; kept aside
 * and retried when that key arrives later).
 */
import type { DeviceMessageEvent, MessageView } from '../../common/contracts/realtime-events';
import { fromBase64, utf8Decode } from '../crypto/bytes';
import { decodeEnvelope, EnvelopeType } from '../crypto/envelope';
import { CryptoError, DuplicateMessage, InvalidEnvelope, NoSenderKey, UntrustedIdentity } from '../crypto/errors';
import { DeviceAddress } from '../crypto/address';
import { classifyMailboxItem, decodePairwisePayload } from './device-payloads';
import { Linking } from './linking';
import { MessageStore } from './message-store';
import { SenderKeys } from './sender-keys';
import { SessionStore } from './sessions';
import type { ReceivedMessage } from './types';

export type MailboxItem = Omit<DeviceMessageEvent, 'type'>;

export interface InboxHooks {
  self(): DeviceAddress;
  linked(): boolean;
  /** The link approval arrived and was stored: publish prekeys, hand out sender keys. */
  onLinked(trustedIdentities: Record<string, string>): Promise<void>;
  onError(error: Error): void;
}

export class Inbox {
  constructor(
    private readonly sessions: SessionStore,
    private readonly senderKeys: SenderKeys,
    private readonly linking: Linking,
    private readonly messages: MessageStore,
    private readonly hooks: InboxHooks,
  ) {}

  /**
   * One mailbox item. Returns the conversation messages it made readable (a sender key for parked messages). Errors
   * are reported, not thrown: the item is acknowledged either way, as a broken item would otherwise block the mailbox.
   */
  async deviceMessage(item: MailboxItem): Promise<ReceivedMessage[]> {
    const from = { userId: item.senderId, deviceId: item.senderDeviceId };
    try {
      const classified = classifyMailboxItem(item.ciphertext);
      if (classified.kind === 'link-request') {
        await this.linking.noteRequest(from, classified.request.publicKey);
        return [];
      }
      const envelope = decodeEnvelope(classified.bytes);
      if (envelope.type === EnvelopeType.Provisioning) {
        if (this.hooks.linked()) return [];
        const payload = await this.linking.complete(classified.bytes);
        await this.hooks.onLinked(payload.trustedIdentities ?? {});
        return [];
      }
      if (!this.hooks.linked()) throw new InvalidEnvelope('a pairwise message before this device was linked');
      const { plaintext } = await this.sessions.decrypt(classified.bytes, from);
      const payload = decodePairwisePayload(plaintext);
      if (payload.kind === 'devices-changed') {
        await this.sessions.markDirty(from.userId);
        return [];
      }
      await this.senderKeys.receive(payload.conversationId, from, payload.distribution);
      return this.retryParked(payload.conversationId, from);
    } catch (e) {
      // A session under another identity key than the one we trust: the app hears `identity-changed`.
      if (e instanceof UntrustedIdentity) await this.sessions.noteIdentity(e.userId, e.newIdentityKey);
      if (!(e instanceof DuplicateMessage)) this.hooks.onError(e as Error);
      return [];
    }
  }

  /**
   * One conversation message. Answers the decrypted message, or undefined when it was ours, already handled, parked
   * for its sender key, or failed (reported through onError and remembered so catch-up does not retry it).
   */
  async conversationMessage(view: MessageView): Promise<ReceivedMessage | undefined> {
    if (await this.messages.handled(view.conversationId, view.id)) return undefined;
    const self = this.hooks.self();
    if (view.senderId === self.userId && view.senderDeviceId === self.deviceId) return undefined;
    try {
      const message = await this.open(view);
      await this.messages.save(message);
      return message;
    } catch (e) {
      if (e instanceof NoSenderKey) {
        await this.messages.park(view);
        return undefined;
      }
      if (!(e instanceof CryptoError)) throw e;
      await this.messages.fail(view, e.code);
      this.hooks.onError(e);
      return undefined;
    }
  }

  /**
   * Decrypts a conversation message as the server delivers it, or throws the typed error (NoSenderKey,
   * InvalidSignature, DuplicateMessage, DecryptionFailed, InvalidEnvelope). Advances the sender key's chain; keeps
   * nothing else.
   */
  async open(view: MessageView): Promise<ReceivedMessage> {
    const envelope = fromBase64(view.ciphertext);
    const claimed = decodeEnvelope(envelope).sender;
    if (claimed.userId !== view.senderId || claimed.deviceId !== view.senderDeviceId) {
      throw new InvalidEnvelope('envelope sender differs from the server-reported sender');
    }
    const { plaintext } = await this.senderKeys.decrypt(view.conversationId, envelope);
    return {
      conversationId: view.conversationId,
      messageId: view.id,
      sender: view.senderId,
      senderDeviceId: view.senderDeviceId,
      text: utf8Decode(plaintext),
      sentAt: view.sentAt,
    };
  }

  private async retryParked(conversationId: string, from: DeviceAddress): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (const view of await this.messages.parked(conversationId)) {
      if (view.senderId !== from.userId || view.senderDeviceId !== from.deviceId) continue;
      const message = await this.conversationMessage(view);
      if (message) out.push(message);
    }
    return out;
  }
}
