import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/** Message attributes the worker and the DLQ tool add; names are SQS-legal (letters, digits, `-`, `.`). */
export const CyphrAttributes = {
  /** Why the worker moved a message to the DLQ itself (malformed body). */
  rejectReason: 'cyphr-reject-reason',
  /** URL of the queue the message came from, so a replay knows where to send it back. */
  sourceQueue: 'cyphr-source-queue',
  /** ISO time of the rejection. */
  rejectedAt: 'cyphr-rejected-at',
  /** How many times the DLQ tool replayed this message. */
  replays: 'cyphr-replays',
} as const;

const OURS = new Set<string>(Object.values(CyphrAttributes));
/** SQS allows at most 10 message attributes. */
export const MAX_MESSAGE_ATTRIBUTES = 10;

/** A received message's own attributes in the shape SendMessage accepts, without the ones we manage. */
export function carriedAttributes(message: Message): Record<string, MessageAttributeValue> {
  const carried: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (OURS.has(name) || !value.DataType) continue;
    carried[name] = { DataType: value.DataType, StringValue: value.StringValue, BinaryValue: value.BinaryValue };
  }
  return carried;
}

/** Ours first (they matter to the DLQ tool), then as many carried ones as still fit. */
export function withAttributes(
  carried: Record<string, MessageAttributeValue>,
  ours: Record<string, string>,
): Record<string, MessageAttributeValue> {
  const result: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(ours)) result[name] = { DataType: 'String', StringValue: value };
  for (const [name, value] of Object.entries(carried)) {
    if (Object.keys(result).length >= MAX_MESSAGE_ATTRIBUTES) break;
    result[name] = value;
  }
  return result;
}

export function stringAttribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

/** SentTimestamp (ms) and ApproximateReceiveCount, when requested on receive. */
export function sentAt(message: Message): number | undefined {
  const value = Number(message.Attributes?.SentTimestamp);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

export function receiveCount(message: Message): number {
  const value = Number(message.Attributes?.ApproximateReceiveCount);
  return Number.isFinite(value) && value > 0 ? value : 1;
}

/** The FIFO message group (the conversation on `cyphr-messages.fifo`), when requested on receive. */
export function messageGroup(message: Message): string | undefined {
  return message.Attributes?.MessageGroupId || undefined;
}

/**
 * What a send to a FIFO queue needs to keep a message in its group: the group it came from, and its SQS id
 * for deduplication (the same message sent twice within five minutes is kept once).
 */
export function fifoIdsFor(
  message: Message,
  queueUrl: string,
): { MessageGroupId?: string; MessageDeduplicationId?: string } {
  if (!queueUrl.endsWith('.fifo')) return {};
  return { MessageGroupId: messageGroup(message) ?? 'ungrouped', MessageDeduplicationId: message.MessageId };
}
