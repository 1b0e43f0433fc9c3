// SQS: `messages` (API -> worker) and `notifications` (worker -> push), with one shared dead-letter queue.
import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { SqsQueueRedriveAllowPolicy } from '@cdktf/provider-aws/lib/sqs-queue-redrive-allow-policy';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { WORKER_VISIBILITY_TIMEOUT_SECONDS } from '../../common/operations/timeouts';
import { ServiceRole } from './iam';

export { WORKER_VISIBILITY_TIMEOUT_SECONDS };

export interface QueueProps {
  name: string;
  /** KMS key for SSE-KMS. */
  key: KmsKey;
  /** @default WORKER_VISIBILITY_TIMEOUT_SECONDS */
  visibilityTimeoutSeconds?: number;
  /** Long polling wait. @default 20 */
  receiveWaitTimeSeconds?: number;
  /** @default 4 days (345600 s) */
  messageRetentionSeconds?: number;
  /** Dead-letter queue and the receive count after which a message moves there. */
  deadLetter?: { queue: Queue; maxReceiveCount: number };
}

const SEND_ACTIONS = ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'];
const CONSUME_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
];

export class Queue extends Construct {
  readonly queue: SqsQueue;
  /** How long a received message stays hidden; the worker's env file carries the same number. */
  readonly visibilityTimeoutSeconds: number;
  private readonly key: KmsKey;

  constructor(scope: Construct, id: string, props: QueueProps) {
    super(scope, id);
    this.key = props.key;
    this.visibilityTimeoutSeconds = props.visibilityTimeoutSeconds ?? WORKER_VISIBILITY_TIMEOUT_SECONDS;
    this.queue = new SqsQueue(this, 'queue', {
      name: props.name,
      kmsMasterKeyId: props.key.arn,
      kmsDataKeyReusePeriodSeconds: 300,
      visibilityTimeoutSeconds: this.visibilityTimeoutSeconds,
      receiveWaitTimeSeconds: props.receiveWaitTimeSeconds ?? 20,
      messageRetentionSeconds: props.messageRetentionSeconds ?? 345_600,
      redrivePolicy: props.deadLetter
        ? Fn.jsonencode({
            deadLetterTargetArn: props.deadLetter.queue.arn,
            maxReceiveCount: props.deadLetter.maxReceiveCount,
          })
        : undefined,
    });
    new SqsQueuePolicy(this, 'policy', {
      queueUrl: this.queue.url,
      policy: Fn.jsonencode({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyWithoutTls',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sqs:*',
            Resource: this.queue.arn,
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    });
  }

  get arn(): string {
    return this.queue.arn;
  }

  get url(): string {
    return this.queue.url;
  }

  /** Only the listed queues may use this one as their dead-letter queue. */
  allowAsDeadLetterFor(sources: Queue[]): void {
    new SqsQueueRedriveAllowPolicy(this, 'redrive-allow', {
      queueUrl: this.url,
      redriveAllowPolicy: Fn.jsonencode({ redrivePermission: 'byQueue', sourceQueueArns: sources.map((q) => q.arn) }),
    });
  }

  grantSendMessages(role: ServiceRole): void {
    role.addToPolicy({ sid: `Send${this.sidName}`, actions: SEND_ACTIONS, resources: [this.arn] });
    this.grantKey(role, 'Send', ['kms:GenerateDataKey', 'kms:Decrypt']);
  }

  grantConsumeMessages(role: ServiceRole): void {
    role.addToPolicy({ sid: `Consume${this.sidName}`, actions: CONSUME_ACTIONS, resources: [this.arn] });
    this.grantKey(role, 'Consume', ['kms:Decrypt']);
  }

  private grantKey(role: ServiceRole, verb: string, actions: string[]): void {
    role.addToPolicy({ sid: `${verb}${this.sidName}Key`, actions, resources: [this.key.arn] });
  }

  private get sidName(): string {
    return this.node.id.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase()) + 'Queue';
  }
}

export interface QueuesProps {
  namePrefix: string;
  key: KmsKey;
  /** Deliveries before a `messages` message goes to the DLQ. @default 5 */
  messagesMaxReceiveCount?: number;
  /** @default 5 */
  notificationsMaxReceiveCount?: number;
  /** Dead letters are kept the SQS maximum for inspection and replay. @default 14 days */
  deadLetterRetentionSeconds?: number;
}

export class Queues extends Construct {
  readonly messages: Queue;
  readonly notifications: Queue;
  readonly deadLetter: Queue;

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);
    this.deadLetter = new Queue(this, 'dlq', {
      name: `${props.namePrefix}-dlq`,
      key: props.key,
      messageRetentionSeconds: props.deadLetterRetentionSeconds ?? 1_209_600,
    });
    this.messages = new Queue(this, 'messages', {
      name: `${props.namePrefix}-messages`,
      key: props.key,
      deadLetter: { queue: this.deadLetter, maxReceiveCount: props.messagesMaxReceiveCount ?? 5 },
    });
    this.notifications = new Queue(this, 'notifications', {
      name: `${props.namePrefix}-notifications`,
      key: props.key,
      deadLetter: { queue: this.deadLetter, maxReceiveCount: props.notificationsMaxReceiveCount ?? 5 },
    });
    this.deadLetter.allowAsDeadLetterFor([this.messages, this.notifications]);
  }
}
