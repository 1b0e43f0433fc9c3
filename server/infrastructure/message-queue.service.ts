import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createSqsClient } from '../../common/aws/sqs-client';
import { DeviceMessageQueueBodyV1, messageGroupOf, MessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { ServerConfig } from '../config/server-config';
import { MetricsService } from '../metrics/metrics.service';
import { SqsBatcher } from './sqs-batcher';

/**
 * While sends come often enough to fill a batch, a batch waits up to this long for them (see SqsBatcher): at 160
 * sends a second a batch then carries ~4 messages instead of ~2, for at most this much more latency on a 202.
 */
const MAX_BATCH_LINGER_MS = 25;

/** The SQS producer: accepted messages go to `cyphr-messages.fifo` through one batcher per instance. */
@Injectable()
export class MessageQueueService implements OnApplicationShutdown {
  readonly client: SQSClient;
  private readonly batcher: SqsBatcher;

  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    metrics: MetricsService,
  ) {
    this.client = createSqsClient({ AWS_REGION: config.sqs.region, SQS_ENDPOINT: config.sqs.endpoint });
    this.batcher = new SqsBatcher({
      client: this.client,
      queueUrl: config.sqs.messagesQueueUrl,
      maxDelayMs: config.sqs.maxBatchDelayMs,
      maxLingerMs: Math.max(config.sqs.maxBatchDelayMs, MAX_BATCH_LINGER_MS),
      onBatch: (size, seconds, outcome) => {
        metrics.queueSendDuration.observe({ queue: 'messages', outcome }, seconds);
        metrics.queueBatchSize.observe({ queue: 'messages' }, size);
      },
    });
  }

  /**
   * Resolves once SQS has stored the message; rejects with QueueSendError otherwise. The conversation is the
   * FIFO group, so the worker stores a conversation's messages in the order they were accepted; the message id
   * (derived from sender, conversation and client id) deduplicates a client's retry.
   */
  enqueueMessage(body: MessageQueueBodyV1): Promise<void> {
    return this.batcher.send(JSON.stringify(body), { groupId: body.conversationId, deduplicationId: body.id });
  }

  /**
   * Resolves once SQS has stored every one; rejects with the first QueueSendError otherwise (the others may be
   * stored: the worker keeps what it gets). Each recipient device is its own FIFO group, so a mailbox keeps the
   * order its items were accepted in, and the groups spread the load; the id (fresh per item) is the
   * deduplication id.
   */
  async enqueueDeviceMessages(bodies: DeviceMessageQueueBodyV1[]): Promise<void> {
    const sends = bodies.map((body) =>
      this.batcher.send(JSON.stringify(body), { groupId: messageGroupOf(body), deduplicationId: body.id }),
    );
    // Every send gets its answer before the caller hears of a failure: nothing is left in flight behind a 503.
    const results = await Promise.allSettled(sends);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }

  /** Readiness: the queue exists and answers. */
  async ping(): Promise<void> {
    await this.client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.config.sqs.messagesQueueUrl, AttributeNames: ['QueueArn'] }),
    );
  }

  /** Called by graceful shutdown before anything else closes: nothing accepted is left unsent. */
  async flush(): Promise<void> {
    await this.batcher.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.batcher.close();
    this.client.destroy();
  }
}
