/**
 * Sending: our sender key to every current member device first (other members' and our own other devices), then
 * the message encrypted once under it.
 */
import { DeviceAddress } from '../crypto/address';
import { randomBytes } from '../crypto/primitives';
import { toBase64, utf8Encode } from '../crypto/bytes';
import { Conversations } from './conversations';
import { HttpError } from './errors';
import { MessageStore } from './message-store';
import { SenderKeys } from './sender-keys';
import { SessionStore } from './sessions';
import { Transport } from './transport';

/** A random (version 4) UUID from the crypto core's random source, for clientMessageId. */
export function uuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Outbox {
  constructor(
    private readonly transport: Transport,
    private readonly conversations: Conversations,
    private readonly sessions: SessionStore,
    private readonly senderKeys: SenderKeys,
    private readonly messages: MessageStore,
    private readonly self: () => DeviceAddress,
  ) {}

  /** Every current member device holds our current sender key (rotated first if a holder should not). */
  async distribute(conversationId: string): Promise<void> {
    const members = await this.conversations.members(conversationId);
    const targets: DeviceAddress[] = [];
    for (const userId of members) targets.push(...(await this.sessions.devicesOf(userId)));
    await this.senderKeys.distribute(conversationId, targets);
  }

  async sendText(conversationId: string, text: string): Promise<{ messageId: string }> {
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
      {
        clientMessageId: uuid(),
        ciphertext: toBase64(envelope),
      },
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
  }
}
