import { Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DeviceMessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import type { AuthenticatedUser } from '../http/http-types';
import { MessageQueueService } from '../infrastructure/message-queue.service';
import { QueueSendError } from '../infrastructure/sqs-batcher';
import { RateLimiter } from '../rate-limits/rate-limiter.service';
import { DeliveryReceipts } from '../receipts/delivery-receipts.service';
import { DeviceMessageInput, DeviceMessagesAccepted, PendingDeviceMessages } from './mailbox.dto';
import { DeviceAddress, MailboxRepository } from './mailbox.repository';

/**
 * Device-to-device messages: accepted here and queued, stored and pushed by the worker, listed and deleted here
 * when the recipient device acknowledges them. The server checks addressing and sizes, never content.
 */
@Injectable()
export class MailboxService {
  constructor(
    private readonly mailbox: MailboxRepository,
    private readonly queue: MessageQueueService,
    private readonly limiter: RateLimiter,
    private readonly receipts: DeliveryReceipts,
  ) {}

  /**
   * All or nothing on addressing: one device the sender may not write to and nothing is queued (404). Answers
   * once SQS holds every message. Should SQS refuse some (503), the ones it took are delivered: a client that
   * resends gets new ids, and its recipients' ratchets drop the copies they have already decrypted.
   */
  async send(sender: AuthenticatedUser, messages: DeviceMessageInput[]): Promise<DeviceMessagesAccepted> {
    await this.limiter.consume('deviceMessages', sender.id, messages.length);
    const from: DeviceAddress = { userId: sender.id, deviceId: sender.deviceId };
    const targets = messages.map(({ userId, deviceId }) => ({ userId: userId.toLowerCase(), deviceId }));
    const refused = await this.mailbox.firstUnreachable(from, targets);
    if (refused)
      throw new NotFoundException(
        refused.userId === sender.id && refused.deviceId === sender.deviceId
          ? 'a device cannot send to itself'
          : `device ${refused.deviceId} of user ${refused.userId} is not a device you can send to`,
      );
    const sentAt = new Date().toISOString();
    const bodies = messages.map((message, index): DeviceMessageQueueBodyV1 => ({
      v: 1,
      kind: 'device-message',
      id: randomUUID(),
      ...targets[index],
      senderId: sender.id,
      senderDeviceId: sender.deviceId,
      ciphertext: message.ciphertext,
      sentAt,
    }));
    try {
      await this.queue.enqueueDeviceMessages(bodies);
    } catch (error) {
      if (error instanceof QueueSendError)
        throw new ServiceUnavailableException('The message queue is unavailable; retry later');
      throw error;
    }
    return { ids: bodies.map((body) => body.id) };
  }

  /** Oldest first; `more` when there are others after these. */
  async pending(device: AuthenticatedUser, limit = 100): Promise<PendingDeviceMessages> {
    const rows = await this.mailbox.pending({ userId: device.id, deviceId: device.deviceId }, limit + 1);
    return {
      items: rows.slice(0, limit).map((row) => ({
        id: row.id,
        senderId: row.sender_id,
        senderDeviceId: row.sender_device_id,
        ciphertext: row.ciphertext,
        sentAt: row.sent_at.toISOString(),
      })),
      more: rows.length > limit,
    };
  }

  /**
   * Deletes the calling device's mailbox rows among `ids`; the other ids may be conversation messages the device
   * received, whose senders then get `delivered` (after this answers: see DeliveryReceipts).
   */
  async acknowledge(device: AuthenticatedUser, ids: string[]): Promise<void> {
    const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
    await this.limiter.consume('acks', device.id, unique.length);
    const deleted = await this.mailbox.acknowledge({ userId: device.id, deviceId: device.deviceId }, unique);
    this.receipts.acknowledged(
      device,
      unique.filter((id) => !deleted.has(id)),
    );
  }
}
