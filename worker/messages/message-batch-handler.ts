import { Message } from '@aws-sdk/client-sqs';
import {
  isDeviceMessage,
  messageGroupOf,
  MessageQueueBodyV1,
  MessagesQueueBody,
  parseMessagesQueueBody,
} from '../../common/contracts/queue-messages';
import { DeviceMessageDelivery, DeviceMessageItem } from '../mailbox/device-message-delivery';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { messageGroup, receiveCount, sentAt } from '../queue/attributes';
import { BatchOutcome } from '../queue/consumer-pool';
import { DeadLetterSender } from '../queue/dead-letter';
import { retryDelaySeconds } from '../queue/retry';
import { Fanout, FanoutItem } from './fanout';
import { MessageStore } from './message-store';

export interface MessageBatchHandlerOptions {
  store: MessageStore;
  fanout: Fanout;
  /** Device-to-device messages, which share the queue (their own FIFO groups, one per recipient device). */
  deviceMessages: DeviceMessageDelivery;
  deadLetters: DeadLetterSender;
  metrics: WorkerMetrics;
  logger: WorkerLogger;
  retryBaseSeconds: number;
  visibilityTimeoutSeconds: number;
}

const QUEUE = 'messages';

/**
 * The FIFO group is the conversation (or, for a device message, the recipient device); on a standard queue (no
 * group attribute) the body says which.
 */
const groupOf = (sqs: Message, body: MessagesQueueBody | undefined) =>
  messageGroup(sqs) ?? (body ? messageGroupOf(body) : `message:${sqs.MessageId}`);

type Item = { sqs: Message; body: MessageQueueBodyV1 };

/**
 * One received batch of `cyphr-messages.fifo`: parse, store (one statement), fan out, then acknowledge exactly
 * the messages that are stored and whose notifications are queued. Every message has its own fate: a malformed
 * one goes to the DLQ, a failing one is retried, the others are deleted.
 *
 * Order: the queue is grouped by conversation, so a batch holds each conversation's messages in send order and
 * no other batch holds its later ones until these are deleted or visible again. A message that fails before it
 * is stored therefore holds back the rest of its conversation in the batch: they are not stored, and are handed
 * back at once (visibility 0) behind it, so none overtakes it; the queue releases them after it. On its last
 * allowed receive the failing message is moved to the DLQ by the worker itself, and the ones behind it are
 * stored in the same batch: left to the redrive policy, they would have gathered as many receives as it did
 * and followed it to the DLQ.
 *
 * Device messages in the batch take their own path at the same time (DeviceMessageDelivery: stored in one
 * statement, pushed to their devices); a malformed one is rejected like any other body.
 */
export class MessageBatchHandler {
  constructor(private readonly options: MessageBatchHandlerOptions) {}

  readonly handle = async (messages: Message[]): Promise<BatchOutcome> => {
    const outcome: BatchOutcome = { ack: [], retry: [] };
    const valid: Item[] = [];
    const devices: DeviceMessageItem[] = [];
    const malformed: Array<{ sqs: Message; reason: string }> = [];
    for (const sqs of messages) {
      try {
        const body = parseMessagesQueueBody(sqs.Body ?? '');
        if (isDeviceMessage(body)) devices.push({ sqs, body });
        else valid.push({ sqs, body });
      } catch (error) {
        malformed.push({ sqs, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    const stuck = new Set<string>();
    for (const { sqs, reason } of malformed) {
      if (!(await this.reject(sqs, reason, outcome))) stuck.add(groupOf(sqs, undefined));
    }
    await Promise.all([
      this.conversationMessages(this.holdBack(valid, stuck, outcome), outcome),
      this.deviceMessages(this.holdBack(devices, stuck, outcome), outcome),
    ]);
    return outcome;
  };

  private async conversationMessages(items: Item[], outcome: BatchOutcome): Promise<void> {
    if (items.length === 0) return;
    // Who may need a push is read while the batch is stored: the reads need only the members.
    const lookup = this.options.fanout.lookup(items.flatMap(({ body }) => body.memberIds));
    let pending = items;
    const delivered: Item[] = [];
    const fanoutItems: FanoutItem[] = [];
    while (pending.length > 0) pending = await this.store(pending, outcome, delivered, fanoutItems);
    const queued = await this.options.fanout.deliver(fanoutItems, lookup);
    delivered.forEach(({ sqs, body }, position) => {
      if (queued[position]) outcome.ack.push(sqs);
      else this.fail(sqs, body, new Error('notifications could not be queued'), false, outcome);
    });
  }

  private async deviceMessages(items: DeviceMessageItem[], outcome: BatchOutcome): Promise<void> {
    for (const item of await this.options.deviceMessages.deliver(items)) {
      if (item.verdict === 'ack') outcome.ack.push(item.sqs);
      else if (item.verdict === 'retry') this.fail(item.sqs, item.body, item.error, false, outcome);
      else {
        outcome.unavailable ??= { messages: [], error: item.error };
        outcome.unavailable.messages.push(item.sqs);
      }
    }
  }

  /** Messages of a group whose earlier message stays on the queue wait behind it. */
  private holdBack<T extends { sqs: Message; body: MessagesQueueBody }>(
    items: T[],
    stuck: Set<string>,
    outcome: BatchOutcome,
  ): T[] {
    if (stuck.size === 0) return items;
    return items.filter((item) => {
      if (!stuck.has(groupOf(item.sqs, item.body))) return true;
      this.blocked(item.sqs, outcome);
      return false;
    });
  }

  /**
   * Stores `items` and sorts the results into the outcome. Returns what must be stored in another round: the
   * messages held back behind one that has just been moved to the DLQ.
   */
  private async store(items: Item[], outcome: BatchOutcome, delivered: Item[], fanoutItems: FanoutItem[]) {
    const { store, metrics, logger } = this.options;
    const results = await store.storeBatch(items.map(({ body }) => body));
    const released = new Set<string>();
    const again: Item[] = [];
    const now = Date.now();
    for (const [index, result] of results.entries()) {
      const { sqs, body } = items[index];
      if (result.status === 'blocked') {
        if (released.has(groupOf(sqs, body))) again.push(items[index]);
        else this.blocked(sqs, outcome);
        continue;
      }
      if (result.status === 'failed' && result.unavailable) {
        // The primary is down: no message is at fault. The pool pauses and hands these back once it answers.
        outcome.unavailable ??= { messages: [], error: result.error };
        outcome.unavailable.messages.push(sqs);
        continue;
      }
      if (result.status === 'failed') {
        if (await this.deadLetterIfExhausted(sqs, body, result.error, outcome)) released.add(groupOf(sqs, body));
        else this.fail(sqs, body, result.error, result.permanent, outcome);
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
    return again;
  }

  private blocked(sqs: Message, outcome: BatchOutcome): void {
    this.options.metrics.failed.inc({ queue: QUEUE, reason: 'blocked' });
    outcome.retry.push({ message: sqs, delaySeconds: 0 });
  }

  /** On its last allowed receive a failing message goes to the DLQ now, with the error as the reason. */
  private async deadLetterIfExhausted(
    sqs: Message,
    body: MessageQueueBodyV1,
    error: Error,
    outcome: BatchOutcome,
  ): Promise<boolean> {
    const { deadLetters, metrics, logger } = this.options;
    const max = deadLetters.maxReceiveCount;
    if (max === undefined || receiveCount(sqs) < max) return false;
    if (!(await deadLetters.reject(sqs, `failed on its last allowed receive: ${error.message}`))) return false;
    metrics.deadLettered.inc({ queue: QUEUE, kind: 'exhausted' });
    logger.error(
      { messageId: body.id, conversationId: body.conversationId, sqsMessageId: sqs.MessageId, err: error },
      'message failed on its last allowed receive; moved to the DLQ',
    );
    outcome.ack.push(sqs);
    return true;
  }

  /** False when the message stays on the queue (the DLQ send failed). */
  private async reject(sqs: Message, reason: string, outcome: BatchOutcome): Promise<boolean> {
    const { deadLetters, metrics, visibilityTimeoutSeconds } = this.options;
    if (await deadLetters.reject(sqs, reason)) {
      metrics.deadLettered.inc({ queue: QUEUE, kind: 'rejected' });
      outcome.ack.push(sqs);
      return true;
    }
    metrics.failed.inc({ queue: QUEUE, reason: 'malformed' });
    outcome.retry.push({ message: sqs, delaySeconds: visibilityTimeoutSeconds });
    return false;
  }

  private fail(sqs: Message, body: MessagesQueueBody, error: Error, permanent: boolean, outcome: BatchOutcome): void {
    const { deadLetters, metrics, logger, retryBaseSeconds, visibilityTimeoutSeconds } = this.options;
    const receives = receiveCount(sqs);
    const exhausted = deadLetters.maxReceiveCount !== undefined && receives >= deadLetters.maxReceiveCount;
    metrics.failed.inc({ queue: QUEUE, reason: permanent ? 'data' : 'transient' });
    if (exhausted) metrics.deadLettered.inc({ queue: QUEUE, kind: 'exhausted' });
    logger[exhausted ? 'error' : 'warn'](
      {
        messageId: body.id,
        ...(isDeviceMessage(body)
          ? { userId: body.userId, deviceId: body.deviceId }
          : { conversationId: body.conversationId }),
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
