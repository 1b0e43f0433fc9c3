import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * Creates Cyphr's queues on the local SQS server with the same shape as the stack's (infra/):
 * `cyphr-dlq`, then `cyphr-messages` and `cyphr-notifications` redriving to it. Idempotent.
 * Prints shell assignments of the queue URLs for scripts/services.sh.
 */
export const LOCAL_QUEUES = {
  dlq: 'cyphr-dlq',
  messages: 'cyphr-messages',
  notifications: 'cyphr-notifications',
} as const;

export const LOCAL_MAX_RECEIVE_COUNT = 5;

export async function createLocalQueues(client: SQSClient): Promise<Record<keyof typeof LOCAL_QUEUES, string>> {
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: LOCAL_QUEUES.dlq,
      Attributes: { MessageRetentionPeriod: String(14 * 24 * 3600) },
    }),
  );
  const dlqUrl = dlq.QueueUrl!;
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const redrive = JSON.stringify({
    deadLetterTargetArn: Attributes!.QueueArn,
    maxReceiveCount: LOCAL_MAX_RECEIVE_COUNT,
  });
  const urls = { dlq: dlqUrl, messages: '', notifications: '' };
  for (const key of ['messages', 'notifications'] as const) {
    const attributes = {
      VisibilityTimeout: '60',
      ReceiveMessageWaitTimeSeconds: '20',
      MessageRetentionPeriod: String(4 * 24 * 3600),
      RedrivePolicy: redrive,
    };
    const created = await client.send(new CreateQueueCommand({ QueueName: LOCAL_QUEUES[key] }));
    // Set attributes separately: CreateQueue on an existing queue with different attributes is an error on SQS.
    await client.send(new SetQueueAttributesCommand({ QueueUrl: created.QueueUrl!, Attributes: attributes }));
    urls[key] = created.QueueUrl!;
  }
  return urls;
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
  console.log(`SQS_DLQ_URL=${urls.dlq}`);
  console.log(`SQS_MESSAGES_QUEUE_URL=${urls.messages}`);
  console.log(`SQS_NOTIFICATIONS_QUEUE_URL=${urls.notifications}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`create-queues: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
