import { Message } from '@aws-sdk/client-sqs';
import { NotificationQueueBody, parseNotificationQueueBody } from '../../common/contracts/queue-messages';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { receiveCount } from '../queue/attributes';
import { BatchOutcome } from '../queue/consumer-pool';
import { DeadLetterSender } from '../queue/dead-letter';
import { retryDelaySeconds } from '../queue/retry';
import { PushNotification, PushProvider } from './push-provider';
import { PushTarget } from './push-targets';

/** Where the handler finds devices' push registrations (PushTargets on the primary). */
export interface PushTargetSource {
  of(userIds: string[]): Promise<PushTarget[]>;
  forget(target: PushTarget): Promise<void>;
}

export interface NotificationBatchHandlerOptions {
  provider: PushProvider;
  targets: PushTargetSource;
  deadLetters: DeadLetterSender;
  metrics: WorkerMetrics;
  logger: WorkerLogger;
  retryBaseSeconds: number;
  visibilityTimeoutSeconds: number;
}

const QUEUE = 'notifications';

/**
 * The devices a notification wakes. A device body (v2) names its device: it had no socket when the message was
 * stored. A user body (v1, queued before devices) means the whole user was offline: every registered device.
 * A device whose token was cleared meanwhile gets nothing.
 */
export function devicesToWake(body: NotificationQueueBody, registered: PushTarget[]): PushTarget[] {
  return registered.filter(
    (target) => target.userId === body.userId && (body.v === 1 || target.deviceId === body.deviceId),
  );
}

/** Built field by field, so nothing else (sender, content) can slip into a payload. */
const wakeUp = (target: PushTarget, body: NotificationQueueBody): PushNotification => ({
  kind: 'wake',
  provider: target.provider,
  token: target.token,
  conversationId: body.conversationId,
});

/**
 * One received batch of `cyphr-notifications`: the registrations of every user named are loaded in one query,
 * then each push is sent in parallel and each queue message succeeds or fails alone.
 */
export class NotificationBatchHandler {
  constructor(private readonly options: NotificationBatchHandlerOptions) {}

  readonly handle = async (messages: Message[]): Promise<BatchOutcome> => {
    const outcome: BatchOutcome = { ack: [], retry: [] };
    const parsed: Array<{ message: Message; body: NotificationQueueBody }> = [];
    await Promise.all(
      messages.map(async (message) => {
        try {
          parsed.push({ message, body: parseNotificationQueueBody(message.Body ?? '') });
        } catch (error) {
          await this.reject(message, error, outcome);
        }
      }),
    );
    if (parsed.length === 0) return outcome;
    let registered: PushTarget[];
    try {
      registered = await this.options.targets.of(parsed.map(({ body }) => body.userId));
    } catch (error) {
      this.options.logger.warn({ err: error }, 'push registrations unavailable; notifications will be retried');
      for (const { message } of parsed) this.retry(message, outcome);
      return outcome;
    }
    await Promise.all(
      parsed.map(({ message, body }) => this.handleOne(message, body, devicesToWake(body, registered), outcome)),
    );
    return outcome;
  };

  private async reject(message: Message, error: unknown, outcome: BatchOutcome): Promise<void> {
    const { deadLetters, metrics, visibilityTimeoutSeconds } = this.options;
    if (await deadLetters.reject(message, error instanceof Error ? error.message : String(error))) {
      metrics.deadLettered.inc({ queue: QUEUE, kind: 'rejected' });
      outcome.ack.push(message);
    } else {
      outcome.retry.push({ message, delaySeconds: visibilityTimeoutSeconds });
    }
  }

  private async handleOne(
    message: Message,
    body: NotificationQueueBody,
    targets: PushTarget[],
    outcome: BatchOutcome,
  ): Promise<void> {
    const { provider, metrics, logger } = this.options;
    if (targets.length === 0) metrics.pushes.inc({ provider: provider.name, outcome: 'no-token' });
    const results = await Promise.allSettled(targets.map((target) => this.push(target, body)));
    const failure = results.find((result) => result.status === 'rejected');
    if (!failure) return void outcome.ack.push(message);
    const receives = receiveCount(message);
    metrics.failed.inc({ queue: QUEUE, reason: 'push' });
    if (this.options.deadLetters.maxReceiveCount !== undefined && receives >= this.options.deadLetters.maxReceiveCount)
      metrics.deadLettered.inc({ queue: QUEUE, kind: 'exhausted' });
    logger.warn(
      { userId: body.userId, messageId: body.messageId, receives, err: (failure as PromiseRejectedResult).reason },
      'push failed; will be retried',
    );
    this.retry(message, outcome);
  }

  private async push(target: PushTarget, body: NotificationQueueBody): Promise<void> {
    const { provider, targets, metrics, logger } = this.options;
    let result;
    try {
      result = await provider.send(wakeUp(target, body));
    } catch (error) {
      metrics.pushes.inc({ provider: provider.name, outcome: 'failed' });
      throw error;
    }
    metrics.pushes.inc({ provider: provider.name, outcome: result });
    const device = { userId: target.userId, deviceId: target.deviceId, messageId: body.messageId };
    if (result === 'dropped') logger.warn(device, 'push refused by the provider; dropped');
    if (result === 'token-invalid') {
      logger.info(device, 'push token is dead; forgetting it');
      await targets.forget(target).catch((error: unknown) => logger.warn({ ...device, err: error }, 'token kept'));
    }
  }

  /**
   * Push failures are the provider's, not the message's: back off like a data error so a dead gateway does not
   * hold notifications for long, and the DLQ keeps what never got through.
   */
  private retry(message: Message, outcome: BatchOutcome): void {
    const { retryBaseSeconds, visibilityTimeoutSeconds } = this.options;
    outcome.retry.push({
      message,
      delaySeconds: retryDelaySeconds(message, true, retryBaseSeconds, visibilityTimeoutSeconds),
    });
  }
}
