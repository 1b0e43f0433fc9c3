import { Message } from '@aws-sdk/client-sqs';
import { MessageQueueBodyV1, parseMessageQueueBody } from '../../common/contracts/queue-messages';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { receiveCount, sentAt } from '../queue/attributes';
import { BatchOutcome } from '../queue/consumer-pool';
import { DeadLetterSender } from '../queue/dead-letter';
import { retryDelaySeconds } from '../queue/retry';
import { Fanout, FanoutItem } from './fanout';
import { MessageStore } from './message-store';

export interface MessageBatchHandlerOptions {
  store: MessageStore;
  fanout: Fanout;
  deadLetters: DeadLetterSender;
  metrics: WorkerMetrics;
  logger: WorkerLogger;
  retryBaseSeconds: number;
  visibilityTimeoutSeconds: number;
}

const QUEUE = 'messages';

/**
 * One received batch of `cyphr-messages`: parse, store (one statement), fan out, then acknowledge exactly
 * the messages that are stored and whose notifications are queued. Every message has its own fate:
 * a malformed one goes to the DLQ, a failing one is retried, the others are deleted.
 */
export class MessageBatchHandler {
  constructor(private readonly options: MessageBatchHandlerOptions) {}

  readonly handle = async (messages: Message[]): Promise<BatchOutcome> => {
    const { store, fanout, metrics, logger } = this.options;
    const outcome: BatchOutcome = { ack: [], retry: [] };
    const valid: Array<{ sqs: Message; body: MessageQueueBodyV1 }> = [];
    const malformed: Array<{ sqs: Message; reason: string }> = [];
    for (const sqs of messages) {
      try {
        valid.push({ sqs, body: parseMessageQueueBody(sqs.Body ?? '') });
      } catch (error) {
        malformed.push({ sqs, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    await Promise.all(malformed.map(({ sqs, reason }) => this.reject(sqs, reason, outcome)));
    const results = await store.storeBatch(valid.map(({ body }) => body));
    const delivered: Array<{ sqs: Message; body: MessageQueueBodyV1 }> = [];
    const fanoutItems: FanoutItem[] = [];
    const now = Date.now();
    for (const [index, result] of results.entries()) {
      const { sqs, body } = valid[index];
      if (result.status === 'failed' && result.unavailable) {
        // The primary is down: no message is at fault. The pool pauses and hands these back once it answers.
        outcome.unavailable ??= { messages: [], error: result.error };
        outcome.unavailable.messages.push(sqs);
        continue;
      }
      if (result.status === 'failed') {
        this.fail(sqs, body, result.error, result.permanent, outcome);
        continue;
      }
      if (result.status === 'stored') {
        metrics.stored.inc();
        const sent = sentAt(sqs);
        if (sent !== undefined) metrics.messageAge.observe(Math.max(0, now - sent) / 1000);
      } else {
        metrics.duplicates.inc();
        logger.debug(
          { messageId: body.id, sqsMessageId: sqs.MessageId },
          'duplicate delivery: already stored, fanning out again',
        );
      }
      delivered.push({ sqs, body });
      fanoutItems.push({ message: result.message, memberIds: body.memberIds });
    }
    const queued = await fanout.deliver(fanoutItems);
    delivered.forEach(({ sqs, body }, position) => {
      if (queued[position]) outcome.ack.push(sqs);
      else this.fail(sqs, body, new Error('notifications could not be queued'), false, outcome);
    });
    return outcome;
  };

  private async reject(sqs: Message, reason: string, outcome: BatchOutcome): Promise<void> {
    const { deadLetters, metrics, visibilityTimeoutSeconds } = this.options;
    if (await deadLetters.reject(sqs, reason)) {
      metrics.deadLettered.inc({ queue: QUEUE, kind: 'rejected' });
      outcome.ack.push(sqs);
    } else {
      metrics.failed.inc({ queue: QUEUE, reason: 'malformed' });
      outcome.retry.push({ message: sqs, delaySeconds: visibilityTimeoutSeconds });
    }
  }

  private fail(sqs: Message, body: MessageQueueBodyV1, error: Error, permanent: boolean, outcome: BatchOutcome): void {
    const { deadLetters, metrics, logger, retryBaseSeconds, visibilityTimeoutSeconds } = this.options;
    const receives = receiveCount(sqs);
    const exhausted = deadLetters.maxReceiveCount !== undefined && receives >= deadLetters.maxReceiveCount;
    metrics.failed.inc({ queue: QUEUE, reason: permanent ? 'data' : 'transient' });
    if (exhausted) metrics.deadLettered.inc({ queue: QUEUE, kind: 'exhausted' });
    logger[exhausted ? 'error' : 'warn'](
      {
        messageId: body.id,
        conversationId: body.conversationId,
        sqsMessageId: sqs.MessageId,
        receives,
        permanent,
        err: error,
      },
      exhausted
        ? 'message failed on its last allowed receive; the redrive policy moves it to the DLQ'
        : 'message failed; will be retried',
    );
    outcome.retry.push({
      message: sqs,
      delaySeconds: retryDelaySeconds(sqs, permanent, retryBaseSeconds, visibilityTimeoutSeconds),
    });
  }
}
