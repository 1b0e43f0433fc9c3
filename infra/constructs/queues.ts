// SQS: `messages` (API -> worker; FIFO, grouped by conversation) and `notifications` (worker -> push; standard),
// each with a dead-letter queue of its own kind (a FIFO queue's DLQ must be FIFO, a standard queue's standard).
import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { SqsQueueRedriveAllowPolicy } from '@cdktf/provider-aws/lib/sqs-queue-redrive-allow-policy';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { WORKER_VISIBILITY_TIMEOUT_SECONDS } from '../../common/operations/timeouts';
import { kmsViaService, ServiceRole } from './iam';

export { WORKER_VISIBILITY_TIMEOUT_SECONDS };

export interface QueueProps {
  name: string;
  /** Region of the queue: its key may be used only through SQS there. */
  region: string;
  /** KMS key for SSE-KMS. */
  key: KmsKey;
  /** @default WORKER_VISIBILITY_TIMEOUT_SECONDS */
  visibilityTimeoutSeconds?: number;
  /** Long polling wait. @default 20 */
  receiveWaitTimeSeconds?: number;
  /** @default 4 days (345600 s) */
  messageRetentionSeconds?: number;
  /** Dead-letter queue and the receive count after which a message moves there; of the same kind (FIFO or not). */
  deadLetter?: { queue: Queue; maxReceiveCount: number };
  /**
   * A FIFO queue (the name gets `.fifo`) in high-throughput mode: order and deduplication per message group,
   * throughput limited per group rather than per queue. Senders must give MessageGroupId and MessageDeduplicationId.
   * @default false (standard: no order, at-least-once)
   */
  fifo?: boolean;
}

/** High-throughput FIFO: deduplication and the throughput quota apply per message group, not per queue. */
export const HIGH_THROUGHPUT_FIFO = {
  fifoQueue: true,
  contentBasedDeduplication: false,
  deduplicationScope: 'messageGroup',
  fifoThroughputLimit: 'perMessageGroupId',
} as const;

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
  readonly fifo: boolean;
  private readonly key: KmsKey;
  private readonly region: string;

  constructor(scope: Construct, id: string, props: QueueProps) {
    super(scope, id);
    this.key = props.key;
    this.region = props.region;
    this.visibilityTimeoutSeconds = props.visibilityTimeoutSeconds ?? WORKER_VISIBILITY_TIMEOUT_SECONDS;
    this.fifo = props.fifo ?? false;
    if (props.deadLetter && props.deadLetter.queue.fifo !== this.fifo)
      throw new Error(
        `Queue ${this.node.path}: its dead-letter queue must be ${this.fifo ? 'FIFO' : 'standard'} like the queue itself`,
      );
    this.queue = new SqsQueue(this, 'queue', {
      name: this.fifo ? `${props.name}.fifo` : props.name,
      ...(this.fifo ? HIGH_THROUGHPUT_FIFO : {}),
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
    role.addToPolicy({
      sid: `${verb}${this.sidName}Key`,
      actions,
      resources: [this.key.arn],
      conditions: [kmsViaService('sqs', this.region)],
    });
  }

  private get sidName(): string {
    return this.node.id.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase()) + 'Queue';
  }
}

export interface QueuesProps {
  namePrefix: string;
  region: string;
  key: KmsKey;
  /** Deliveries before a `messages` message goes to the DLQ. @default 5 */
  messagesMaxReceiveCount?: number;
  /** @default 5 */
  notificationsMaxReceiveCount?: number;
  /** Dead letters are kept the SQS maximum for inspection and replay. @default 14 days */
  deadLetterRetentionSeconds?: number;
}

export class Queues extends Construct {
  /** FIFO, one message group per conversation, so every reader sees a conversation in one order. */
  readonly messages: Queue;
  readonly notifications: Queue;
  /** The messages queue's DLQ (FIFO). */
  readonly messagesDeadLetter: Queue;
  /** The notifications queue's DLQ (standard). */
  readonly deadLetter: Queue;

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);
    const retention = props.deadLetterRetentionSeconds ?? 1_209_600;
    this.messagesDeadLetter = new Queue(this, 'messages-dlq', {
      name: `${props.namePrefix}-messages-dlq`,
      region: props.region,
      key: props.key,
      messageRetentionSeconds: retention,
      fifo: true,
    });
    this.deadLetter = new Queue(this, 'dlq', {
      name: `${props.namePrefix}-dlq`,
      region: props.region,
      key: props.key,
      messageRetentionSeconds: retention,
    });
    this.messages = new Queue(this, 'messages', {
      name: `${props.namePrefix}-messages`,
      region: props.region,
      key: props.key,
      deadLetter: { queue: this.messagesDeadLetter, maxReceiveCount: props.messagesMaxReceiveCount ?? 5 },
      fifo: true,
    });
    this.notifications = new Queue(this, 'notifications', {
      name: `${props.namePrefix}-notifications`,
      region: props.region,
      key: props.key,
      deadLetter: { queue: this.deadLetter, maxReceiveCount: props.notificationsMaxReceiveCount ?? 5 },
    });
    this.messagesDeadLetter.allowAsDeadLetterFor([this.messages]);
    this.deadLetter.allowAsDeadLetterFor([this.notifications]);
  }
}
