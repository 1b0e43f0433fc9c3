/**
 * Bodies of the SQS messages between the API and the worker. Versioned: a consumer rejects a version it
 * does not know (the message ends in the DLQ, nothing is guessed).
 */
export const MAX_CIPHERTEXT_BASE64_LENGTH = Math.ceil((64 * 1024) / 3) * 4; // 64 KiB of ciphertext
/** SQS caps a message at 256 KiB; our envelopes stay far below it. */
export const MAX_QUEUE_BODY_BYTES = 256 * 1024;

/** `cyphr-messages`: a message accepted by the API, to be stored and fanned out by the worker. */
export interface MessageQueueBodyV1 {
  v: 1;
  id: string;
  conversationId: string;
  senderId: string;
  /** Absent in bodies queued before devices existed (their sender's device 1). */
  senderDeviceId?: number;
  clientMessageId: string;
  ciphertext: string;
  /** ISO-8601 time the API accepted it. */
  sentAt: string;
  /** Members at send time (including the sender), so the worker fans out without a membership query. */
  memberIds: string[];
}

/**
 * `cyphr-notifications`, as queued before devices existed: tell one offline user that something arrived.
 * Still accepted (bodies in flight across the upgrade): the user was offline, so each of their devices with a
 * push token gets the push. Never carries message content.
 */
export interface NotificationQueueBodyV1 {
  v: 1;
  kind: 'message';
  userId: string;
  conversationId: string;
  messageId: string;
  createdAt: string;
}

/** `cyphr-notifications`: wake one device that has a push token and had no open socket. Never carries content. */
export interface NotificationQueueBodyV2 {
  v: 2;
  kind: 'message';
  userId: string;
  deviceId: number;
  conversationId: string;
  messageId: string;
  createdAt: string;
}

export type NotificationQueueBody = NotificationQueueBodyV1 | NotificationQueueBodyV2;

export class QueueBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueBodyError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

type Check = [condition: boolean, problem: string];

function parseObject(body: string, versions: unknown[] = [1]): Record<string, unknown> {
  if (Buffer.byteLength(body, 'utf8') > MAX_QUEUE_BODY_BYTES)
    throw new QueueBodyError(`body is larger than ${MAX_QUEUE_BODY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new QueueBodyError('body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new QueueBodyError('body is not a JSON object');
  const record = value as Record<string, unknown>;
  if (!versions.includes(record.v)) throw new QueueBodyError(`unknown body version ${JSON.stringify(record.v)}`);
  return record;
}

function failOn(checks: Check[]): void {
  const problems = checks.filter(([ok]) => !ok).map(([, problem]) => problem);
  if (problems.length > 0) throw new QueueBodyError(problems.join('; '));
}

const isUuid = (value: unknown) => typeof value === 'string' && UUID.test(value);
const isDeviceId = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 2_147_483_647;
const isIsoDate = (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value));

export function parseMessageQueueBody(body: string): MessageQueueBodyV1 {
  const m = parseObject(body);
  failOn([
    [isUuid(m.id), 'id must be a uuid'],
    [isUuid(m.conversationId), 'conversationId must be a uuid'],
    [isUuid(m.senderId), 'senderId must be a uuid'],
    [m.senderDeviceId === undefined || isDeviceId(m.senderDeviceId), 'senderDeviceId must be a positive integer'],
    [isUuid(m.clientMessageId), 'clientMessageId must be a uuid'],
    [
      typeof m.ciphertext === 'string' && m.ciphertext.length > 0 && BASE64.test(m.ciphertext),
      'ciphertext must be non-empty base64',
    ],
    [
      typeof m.ciphertext !== 'string' || m.ciphertext.length <= MAX_CIPHERTEXT_BASE64_LENGTH,
      'ciphertext is larger than 64 KiB',
    ],
    [isIsoDate(m.sentAt), 'sentAt must be an ISO-8601 time'],
    [
      Array.isArray(m.memberIds) && m.memberIds.length > 0 && m.memberIds.every(isUuid),
      'memberIds must be a non-empty list of uuids',
    ],
  ]);
  return m as unknown as MessageQueueBodyV1;
}

export function parseNotificationQueueBody(body: string): NotificationQueueBody {
  const n = parseObject(body, [1, 2]);
  failOn([
    [n.kind === 'message', 'kind must be "message"'],
    [isUuid(n.userId), 'userId must be a uuid'],
    [n.v === 1 || isDeviceId(n.deviceId), 'deviceId must be a positive integer'],
    [isUuid(n.conversationId), 'conversationId must be a uuid'],
    [isUuid(n.messageId), 'messageId must be a uuid'],
    [isIsoDate(n.createdAt), 'createdAt must be an ISO-8601 time'],
  ]);
  return n as unknown as NotificationQueueBody;
}
