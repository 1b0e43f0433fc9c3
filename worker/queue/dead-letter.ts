import { Message, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { WorkerLogger } from '../observability/logger';
import { carriedAttributes, CyphrAttributes, fifoIdsFor, withAttributes } from './attributes';
import { RedriveInfo } from './redrive';

/**
 * Moves a message straight to the queue's DLQ, with the reason as an attribute, so the caller can delete it
 * from the source queue at once: one that can never succeed (malformed body), faster than letting it fail
 * `maxReceiveCount` times (each costing a visibility timeout), and one that failed on its last allowed receive,
 * so the messages of its FIFO group behind it go on in the same batch instead of gathering receives of their
 * own while it blocks the group. On a FIFO DLQ it keeps the message's group. If there is no DLQ or the send
 * fails, it returns false and the caller leaves the message on the queue: the redrive policy still moves it.
 */
export class DeadLetterSender {
  constructor(
    private readonly sqs: SQSClient,
    private readonly redrive: RedriveInfo,
    private readonly logger: WorkerLogger,
  ) {}

  get maxReceiveCount(): number | undefined {
    return this.redrive.maxReceiveCount;
  }

  async reject(message: Message, reason: string): Promise<boolean> {
    const dlq = this.redrive.deadLetterQueueUrl;
    const log = { sqsMessageId: message.MessageId, queue: this.redrive.queueUrl, reason };
    if (!dlq || message.Body === undefined) {
      this.logger.error(log, 'no DLQ to move the message to; leaving it for the redrive policy');
      return false;
    }
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: dlq,
          MessageBody: message.Body,
          ...fifoIdsFor(message, dlq),
          MessageAttributes: withAttributes(carriedAttributes(message), {
            [CyphrAttributes.rejectReason]: reason.slice(0, 1000),
            [CyphrAttributes.sourceQueue]: this.redrive.queueUrl,
            [CyphrAttributes.rejectedAt]: new Date().toISOString(),
          }),
        }),
      );
      this.logger.warn({ ...log, dlq }, 'message moved to the DLQ');
      return true;
    } catch (error) {
      this.logger.error(
        { ...log, err: error },
        'could not move a message to the DLQ; leaving it for the redrive policy',
      );
      return false;
    }
  }
}
