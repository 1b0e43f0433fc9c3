import { Message } from '@aws-sdk/client-sqs';
import { parseNotificationQueueBody } from '../../common/contracts/queue-messages';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { receiveCount } from '../queue/attributes';
import { BatchOutcome } from '../queue/consumer-pool';
import { DeadLetterSender } from '../queue/dead-letter';
import { retryDelaySeconds } from '../queue/retry';
import { PushProvider, toPushNotification } from './push-provider';

export interface NotificationBatchHandlerOptions {
  provider: PushProvider;
  deadLetters: DeadLetterSender;
  metrics: WorkerMetrics;
  logger: WorkerLogger;
  retryBaseSeconds: number;
  visibilityTimeoutSeconds: number;
}

const QUEUE = 'notifications';

/** One received batch of `cyphr-notifications`: each push is sent in parallel and succeeds or fails alone. */
export class NotificationBatchHandler {
  constructor(private readonly options: NotificationBatchHandlerOptions) {}

  readonly handle = async (messages: Message[]): Promise<BatchOutcome> => {
    const outcome: BatchOutcome = { ack: [], retry: [] };
    await Promise.all(messages.map((message) => this.handleOne(message, outcome)));
    return outcome;
  };

  private async handleOne(message: Message, outcome: BatchOutcome): Promise<void> {
    const { provider, deadLetters, metrics, logger, retryBaseSeconds, visibilityTimeoutSeconds } = this.options;
    let notification;
    try {
      notification = toPushNotification(parseNotificationQueueBody(message.Body ?? ''));
    } catch (error) {
      if (await deadLetters.reject(message, error instanceof Error ? error.message : String(error))) {
        metrics.deadLettered.inc({ queue: QUEUE, kind: 'rejected' });
        outcome.ack.push(message);
      } else {
        outcome.retry.push({ message, delaySeconds: visibilityTimeoutSeconds });
      }
      return;
    }
    try {
      const result = await provider.send(notification);
      metrics.pushes.inc({ provider: provider.name, outcome: result });
      if (result === 'dropped')
        logger.warn(
          { userId: notification.userId, messageId: notification.messageId },
          'push refused by the provider; dropped',
        );
      outcome.ack.push(message);
    } catch (error) {
      const receives = receiveCount(message);
      const exhausted = deadLetters.maxReceiveCount !== undefined && receives >= deadLetters.maxReceiveCount;
      metrics.pushes.inc({ provider: provider.name, outcome: 'failed' });
      metrics.failed.inc({ queue: QUEUE, reason: 'push' });
      if (exhausted) metrics.deadLettered.inc({ queue: QUEUE, kind: 'exhausted' });
      logger.warn(
        { userId: notification.userId, messageId: notification.messageId, receives, err: error },
        'push failed; will be retried',
      );
      // Push failures are the provider's, not the message's: back off like a data error so a dead gateway
      // does not hold notifications for long, and the DLQ keeps what never got through.
      outcome.retry.push({
        message,
        delaySeconds: retryDelaySeconds(message, true, retryBaseSeconds, visibilityTimeoutSeconds),
      });
    }
  }
}
