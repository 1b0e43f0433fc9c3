import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * Creates Cyphr's queues on the local SQS server with the same shape as the stack's (infra/):
 * `cyphr-messages.fifo` (grouped by conversation, high-throughput mode) redriving to the FIFO DLQ
 * `cyphr-messages-dlq.fifo` (a FIFO queue's DLQ must be FIFO), and the standard `cyphr-notifications`
 * redriving to the standard `cyphr-dlq`. Idempotent. Prints shell assignments of the URLs for scripts/services.sh.
 */
export const LOCAL_QUEUES = {
  messagesDlq: 'cyphr-messages-dlq.fifo',
  messages: 'cyphr-messages.fifo',
  dlq: 'cyphr-dlq',
  notifications: 'cyphr-notifications',
} as const;

export const LOCAL_MAX_RECEIVE_COUNT = 5;

/** Per-group order, deduplication per group and throughput per group: what the stack sets on `messages`. */
export const FIFO_ATTRIBUTES = {
  FifoQueue: 'true',
  DeduplicationScope: 'messageGroup',
  FifoThroughputLimit: 'perMessageGroupId',
} as const;

const WORK_QUEUE_ATTRIBUTES = {
  VisibilityTimeout: '60',
  ReceiveMessageWaitTimeSeconds: '20',
  MessageRetentionPeriod: String(4 * 24 * 3600),
};

async function create(client: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  // The FIFO attributes go with CreateQueue (FifoQueue can only be given there; fauxqs only takes the other
  // two there too); the rest is set separately because CreateQueue on an existing queue with different
  // attributes is an error on SQS.
  const { FifoQueue, DeduplicationScope, FifoThroughputLimit, ...settable } = attributes;
  const fifo = FifoQueue ? { FifoQueue, DeduplicationScope, FifoThroughputLimit } : undefined;
  const created = await client.send(new CreateQueueCommand({ QueueName: name, ...(fifo ? { Attributes: fifo } : {}) }));
  if (Object.keys(settable).length > 0)
    await client.send(new SetQueueAttributesCommand({ QueueUrl: created.QueueUrl!, Attributes: settable }));
  return created.QueueUrl!;
}

async function redriveTo(client: SQSClient, dlqUrl: string): Promise<string> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  return JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: LOCAL_MAX_RECEIVE_COUNT });
}

export async function createLocalQueues(client: SQSClient): Promise<Record<keyof typeof LOCAL_QUEUES, string>> {
  const dlqRetention = { MessageRetentionPeriod: String(14 * 24 * 3600) };
  const messagesDlq = await create(client, LOCAL_QUEUES.messagesDlq, { ...dlqRetention, ...FIFO_ATTRIBUTES });
  const dlq = await create(client, LOCAL_QUEUES.dlq, dlqRetention);
  const messages = await create(client, LOCAL_QUEUES.messages, {
    ...WORK_QUEUE_ATTRIBUTES,
    ...FIFO_ATTRIBUTES,
    RedrivePolicy: await redriveTo(client, messagesDlq),
  });
  const notifications = await create(client, LOCAL_QUEUES.notifications, {
    ...WORK_QUEUE_ATTRIBUTES,
    RedrivePolicy: await redriveTo(client, dlq),
  });
  return { messagesDlq, messages, dlq, notifications };
}

async function main(): Promise<void> {
  const endpoint = process.argv[2];
  if (!endpoint) throw new Error('usage: create-queues.ts <endpoint>');
  const client = new SQSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const urls = await createLocalQueues(client);
  console.log(`SQS_DLQ_URL=${urls.messagesDlq}`);
  console.log(`SQS_NOTIFICATIONS_DLQ_URL=${urls.dlq}`);
  console.log(`SQS_MESSAGES_QUEUE_URL=${urls.messages}`);
  console.log(`SQS_NOTIFICATIONS_QUEUE_URL=${urls.notifications}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`create-queues: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
