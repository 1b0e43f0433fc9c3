import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NotificationQueueBodyV1 } from '../../common/contracts/queue-messages';
import { MessageView, RealtimeEvent } from '../../common/contracts/realtime-events';
import { onlineUsers, PresenceRedis } from '../../common/redis/presence';
import { RedisChannels } from '../../common/redis/keys';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';

/** What fan-out needs from Redis: publish and the presence reads. */
export interface FanoutRedis extends PresenceRedis {
  publish(channel: string, message: string): Promise<number>;
}

export interface FanoutItem {
  message: MessageView;
  /** Members at send time, the sender included (their other devices get the event too). */
  memberIds: string[];
}

const SQS_BATCH_LIMIT = 10;

/**
 * After a message is stored: publish it on every member's Redis channel (each API instance pushes to its
 * own WebSockets), and queue a notification for each member other than the sender with no live
 * connection.
 *
 * Redis trouble degrades, it does not fail the message: the message is durable in PostgreSQL and
 * clients catch up from history on reconnect, so a failed publish is logged and counted, and unknown
 * presence counts as offline (a push too many rather than one too few). A failure to queue a
 * notification does fail the message: it stays on the queue, is redelivered, found as a duplicate and
 * fanned out again.
 */
export class Fanout {
  constructor(
    private readonly redis: FanoutRedis,
    private readonly sqs: SQSClient,
    private readonly notificationsQueueUrl: string,
    private readonly metrics: WorkerMetrics,
    private readonly logger: WorkerLogger,
  ) {}

  /** Per item: true when its notifications were queued (publishing is best effort). */
  async deliver(items: FanoutItem[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    // Independent round trips, so concurrent: publishing never waits for presence or SQS.
    const [, failedItems] = await Promise.all([this.publish(items), this.notifyOffline(items)]);
    return items.map((_, index) => !failedItems.has(index));
  }

  private async notifyOffline(items: FanoutItem[]): Promise<Set<number>> {
    const online = await this.presence(items);
    const notifications: Array<{ item: number; body: NotificationQueueBodyV1 }> = [];
    const createdAt = new Date().toISOString();
    items.forEach(({ message, memberIds }, item) => {
      for (const userId of new Set(memberIds)) {
        if (userId === message.senderId || online.has(userId)) continue;
        notifications.push({
          item,
          body: {
            v: 1,
            kind: 'message',
            userId,
            conversationId: message.conversationId,
            messageId: message.id,
            createdAt,
          },
        });
      }
    });
    return this.queueNotifications(notifications);
  }

  private async publish(items: FanoutItem[]): Promise<void> {
    const sends: Promise<number>[] = [];
    for (const { message, memberIds } of items) {
      const event: RealtimeEvent = { type: 'message', message };
      const payload = JSON.stringify(event);
      for (const userId of new Set(memberIds)) sends.push(this.redis.publish(RedisChannels.user(userId), payload));
    }
    // node-redis pipelines commands issued in the same tick: one round trip for the whole batch.
    const results = await Promise.allSettled(sends);
    const failures = results.filter((result) => result.status === 'rejected');
    this.metrics.published.inc({ outcome: 'ok' }, results.length - failures.length);
    if (failures.length > 0) {
      this.metrics.published.inc({ outcome: 'failed' }, failures.length);
      this.logger.warn(
        { failed: failures.length, err: (failures[0] as PromiseRejectedResult).reason },
        'realtime publish failed; clients will catch up from history',
      );
    }
  }

  private async presence(items: FanoutItem[]): Promise<Set<string>> {
    const candidates = new Set<string>();
    for (const { message, memberIds } of items)
      for (const userId of memberIds) if (userId !== message.senderId) candidates.add(userId);
    try {
      return await onlineUsers(this.redis, [...candidates]);
    } catch (error) {
      this.logger.warn({ err: error }, 'presence unavailable; notifying every recipient');
      return new Set();
    }
  }

  /** Returns the items whose notifications could not all be queued. */
  private async queueNotifications(
    notifications: Array<{ item: number; body: NotificationQueueBodyV1 }>,
  ): Promise<Set<number>> {
    const failedItems = new Set<number>();
    const batches: Array<typeof notifications> = [];
    for (let index = 0; index < notifications.length; index += SQS_BATCH_LIMIT)
      batches.push(notifications.slice(index, index + SQS_BATCH_LIMIT));
    await Promise.all(
      batches.map(async (batch) => {
        try {
          const result = await this.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: this.notificationsQueueUrl,
              Entries: batch.map(({ body }, index) => ({ Id: String(index), MessageBody: JSON.stringify(body) })),
            }),
          );
          for (const failure of result.Failed ?? []) failedItems.add(batch[Number(failure.Id)].item);
          this.metrics.notificationsQueued.inc(batch.length - (result.Failed?.length ?? 0));
        } catch (error) {
          this.logger.error({ err: error, notifications: batch.length }, 'could not queue notifications');
          for (const { item } of batch) failedItems.add(item);
        }
      }),
    );
    return failedItems;
  }
}
