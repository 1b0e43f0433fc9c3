import { Message } from '@aws-sdk/client-sqs';
import { DeviceMessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { DeviceMessageEvent, deviceTargeted } from '../../common/contracts/realtime-events';
import { RedisChannels } from '../../common/redis/keys';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { DeviceMessageStore } from './device-message-store';

export interface DeviceMessageItem {
  sqs: Message;
  body: DeviceMessageQueueBodyV1;
}

/**
 * What becomes of one received device message: `ack` (in the mailbox, or never deliverable), `retry` (the store
 * failed; the queue hands it back), `unavailable` (the primary is down: nobody's fault, held until it answers).
 */
export type DeviceMessageVerdict = DeviceMessageItem &
  ({ verdict: 'ack' } | { verdict: 'retry'; error: Error } | { verdict: 'unavailable'; error: Error });

/** What delivery needs from Redis. */
export interface MailboxRedis {
  publish(channel: string, message: string): Promise<number>;
}

/**
 * Device messages from `cyphr-messages`: store them in their mailboxes (one statement), then push each to its
 * device (on the user's channel, aimed at the device: the gateway holding its sockets sends it to them only).
 *
 * A message for a device that was removed meanwhile (or whose row fails for a reason of its own data) can never
 * be delivered: it is dropped, logged and counted, and acknowledged so it neither poisons the batch nor holds
 * back its group. Publishing is best effort, as for conversation messages: the row stays pending, and the device
 * finds it with GET /v1/devices/messages when it connects.
 */
export class DeviceMessageDelivery {
  constructor(
    private readonly store: DeviceMessageStore,
    private readonly redis: MailboxRedis,
    private readonly metrics: WorkerMetrics,
    private readonly logger: WorkerLogger,
  ) {}

  async deliver(items: DeviceMessageItem[]): Promise<DeviceMessageVerdict[]> {
    if (items.length === 0) return [];
    const results = await this.store.storeBatch(items.map((item) => item.body));
    const toPublish: DeviceMessageQueueBodyV1[] = [];
    const verdicts = items.map((item, index): DeviceMessageVerdict => {
      const result = results[index];
      if (result.status === 'stored' || result.status === 'duplicate') {
        this.metrics.deviceMessages.inc({ outcome: result.status });
        toPublish.push(item.body);
        return { ...item, verdict: 'ack' };
      }
      if (result.status === 'gone') {
        this.drop(item, 'the recipient device is removed');
        return { ...item, verdict: 'ack' };
      }
      if (result.permanent) {
        this.drop(item, result.error.message);
        return { ...item, verdict: 'ack' };
      }
      return { ...item, verdict: result.unavailable ? 'unavailable' : 'retry', error: result.error };
    });
    await this.publish(toPublish);
    return verdicts;
  }

  private drop({ sqs, body }: DeviceMessageItem, reason: string): void {
    this.metrics.deviceMessages.inc({ outcome: 'dropped' });
    this.logger.warn(
      { messageId: body.id, userId: body.userId, deviceId: body.deviceId, sqsMessageId: sqs.MessageId, reason },
      'device message dropped: it can never be delivered',
    );
  }

  private async publish(bodies: DeviceMessageQueueBodyV1[]): Promise<void> {
    if (bodies.length === 0) return;
    // Issued in one tick: node-redis pipelines them into one round trip.
    const results = await Promise.allSettled(
      bodies.map((body) => {
        const event: DeviceMessageEvent = {
          type: 'device-message',
          id: body.id,
          senderId: body.senderId,
          senderDeviceId: body.senderDeviceId,
          ciphertext: body.ciphertext,
          sentAt: body.sentAt,
        };
        return this.redis.publish(
          RedisChannels.user(body.userId),
          deviceTargeted(body.deviceId, JSON.stringify(event)),
        );
      }),
    );
    const failures = results.filter((result) => result.status === 'rejected');
    this.metrics.published.inc({ outcome: 'ok' }, results.length - failures.length);
    if (failures.length === 0) return;
    this.metrics.published.inc({ outcome: 'failed' }, failures.length);
    this.logger.warn(
      { failed: failures.length, err: (failures[0] as PromiseRejectedResult).reason },
      'device message publish failed; devices will find them pending',
    );
  }
}
