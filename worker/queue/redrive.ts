import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';

/** What the worker needs to know about a queue's redrive policy. */
export interface RedriveInfo {
  queueUrl: string;
  queueArn?: string;
  /** Receives after which SQS moves a message to the DLQ; undefined when the queue has no redrive policy. */
  maxReceiveCount?: number;
  deadLetterQueueUrl?: string;
}

/** `arn:aws:sqs:region:account:name` → { account, name }. */
export function parseQueueArn(arn: string): { account: string; name: string } | undefined {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs') return undefined;
  return { account: parts[4], name: parts[5] };
}

/** Resolves a queue name, ARN or URL to its URL. */
export async function resolveQueueUrl(sqs: SQSClient, nameArnOrUrl: string): Promise<string> {
  if (/^https?:\/\//.test(nameArnOrUrl)) return nameArnOrUrl;
  const arn = parseQueueArn(nameArnOrUrl);
  const result = await sqs.send(
    new GetQueueUrlCommand(
      arn ? { QueueName: arn.name, QueueOwnerAWSAccountId: arn.account } : { QueueName: nameArnOrUrl },
    ),
  );
  if (!result.QueueUrl) throw new Error(`Queue ${nameArnOrUrl} not found`);
  return result.QueueUrl;
}

/** Reads the queue's ARN and redrive policy once at start-up. */
export async function readRedrive(sqs: SQSClient, queueUrl: string): Promise<RedriveInfo> {
  const result = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn', 'RedrivePolicy'] }),
  );
  const info: RedriveInfo = { queueUrl, queueArn: result.Attributes?.QueueArn };
  const policyText = result.Attributes?.RedrivePolicy;
  if (!policyText) return info;
  const policy = JSON.parse(policyText) as { deadLetterTargetArn?: string; maxReceiveCount?: number | string };
  if (policy.maxReceiveCount !== undefined) info.maxReceiveCount = Number(policy.maxReceiveCount);
  if (policy.deadLetterTargetArn) info.deadLetterQueueUrl = await resolveQueueUrl(sqs, policy.deadLetterTargetArn);
  return info;
}
