import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NotificationQueueBodyV2 } from '../../common/contracts/queue-messages';
import { MessageView, RealtimeEvent } from '../../common/contracts/realtime-events';
import { onlineDevices, PresenceRedis } from '../../common/redis/presence';
import { RedisChannels } from '../../common/redis/keys';
import type { PushTarget } from '../notifications/push-targets';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';

/** What fan-out needs from Redis: publish and the presence reads. */
export interface FanoutRedis extends PresenceRedis {
  publish(channel: string, message: string): Promise<number>;
}

/** The devices with a push token (PushTargets on the primary). */
export interface PushDevices {
  of(userIds: string[]): Promise<PushTarget[]>;
}

export interface FanoutItem {
  message: MessageView;
  /** Members at send time, the sender included (their other devices get the event too). */
  memberIds: string[];
}

const SQS_BATCH_LIMIT = 10;

/** The reads that decide who gets a push: registrations (or why they could not be read) and presence. */
export interface PushLookup {
  registered: PushTarget[] | Error;
  online: Map<string, Set<number>>;
}

/**
 * After a message is stored: publish it on every member's Redis channel (each API instance pushes to its
 * own WebSockets), and queue one notification per device to wake: a member's device (the sender's other
 * devices too, never the one that sent it) that has a push token and no open socket. Registrations are read in
 * one query per batch and presence only for users that have any, so members without push cost nothing more.
 *
 * Redis trouble degrades, it does not fail the message: the message is durable in PostgreSQL and
 * clients catch up from history on reconnect, so a failed publish is logged and counted, and unknown
 * presence counts as offline (a push too many rather than one too few). A failure to read registrations or
 * queue a notification does fail the message: it stays on the queue, is redelivered, found as a duplicate and
 * fanned out again.
 */
export class Fanout {
  constructor(
    private readonly redis: FanoutRedis,
    private readonly pushDevices: PushDevices,
    private readonly sqs: SQSClient,
    private readonly notificationsQueueUrl: string,
    private readonly metrics: WorkerMetrics,
    private readonly logger: WorkerLogger,
  ) {}

  /**
   * Reads the push registrations of `memberIds` and the presence of those registered. The batch handler starts it
   * before the batch is stored, so these reads overlap the insert instead of following it (a conversation's next
   * messages wait on the queue until this batch is acknowledged). Never rejects.
   */
  async lookup(memberIds: string[]): Promise<PushLookup> {
    let registered: PushTarget[];
    try {
      registered = await this.pushDevices.of([...new Set(memberIds)]);
    } catch (error) {
      return { registered: error instanceof Error ? error : new Error(String(error)), online: new Map() };
    }
    if (registered.length === 0) return { registered, online: new Map() };
    return { registered, online: await this.presence([...new Set(registered.map((target) => target.userId))]) };
  }

  /**
   * Per item: true when its notifications were queued (publishing is best effort). `lookup`: started earlier
   * for (at least) these items' members; by default read now.
   */
  async deliver(
    items: FanoutItem[],
    lookup: Promise<PushLookup> = this.lookup(items.flatMap(({ memberIds }) => memberIds)),
  ): Promise<boolean[]> {
    if (items.length === 0) return [];
    // Independent round trips, so concurrent: publishing never waits for presence or SQS.
    const [, failedItems] = await Promise.all([this.publish(items), this.notifyOffline(items, lookup)]);
    return items.map((_, index) => !failedItems.has(index));
  }

  private async notifyOffline(items: FanoutItem[], lookup: Promise<PushLookup>): Promise<Set<number>> {
    const { registered, online } = await lookup;
    if (registered instanceof Error) {
      this.logger.error({ err: registered }, 'push registrations unavailable; messages will be fanned out again');
      return new Set(items.map((_, index) => index));
    }
    if (registered.length === 0) return new Set();
    const notifications: Array<{ item: number; body: NotificationQueueBodyV2 }> = [];
    const createdAt = new Date().toISOString();
    items.forEach(({ message, memberIds }, item) => {
      const members = new Set(memberIds);
      for (const { userId, deviceId } of registered) {
        if (!members.has(userId) || online.get(userId)?.has(deviceId)) continue;
        if (userId === message.senderId && deviceId === message.senderDeviceId) continue;
        notifications.push({
          item,
          body: {
            v: 2,
            kind: 'message',
            userId,
            deviceId,
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

  private async presence(userIds: string[]): Promise<Map<string, Set<number>>> {
    try {
      return await onlineDevices(this.redis, userIds);
    } catch (error) {
      this.logger.warn({ err: error }, 'presence unavailable; waking every registered device');
      return new Map();
    }
  }

  /** Returns the items whose notifications could not all be queued. */
  private async queueNotifications(
    notifications: Array<{ item: number; body: NotificationQueueBodyV2 }>,
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
