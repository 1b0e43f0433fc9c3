import * as sqs from '@aws-sdk/client-sqs';
import type { ResponseMetadata } from '@smithy/types';

/**
 * SQS's JSON protocol (AWS JSON 1.0) for the successful calls LeanSqsClient makes itself: the input is the SDK
 * command's input, the output the SDK's output shape. Only message attributes need a conversion: their binary
 * values travel as base64 and the SDK's shapes hold them as bytes. Of an error answer only what the SDK's retry
 * rules need is read: the call is then made again through the SDK, which decodes the exception (see LeanSqsClient).
 */
export const LEAN_OPERATIONS = new Map<unknown, string>([
  [sqs.SendMessageBatchCommand, 'SendMessageBatch'],
  [sqs.ReceiveMessageCommand, 'ReceiveMessage'],
  [sqs.DeleteMessageBatchCommand, 'DeleteMessageBatch'],
  [sqs.ChangeMessageVisibilityBatchCommand, 'ChangeMessageVisibilityBatch'],
]);

type Attributes = Record<string, sqs.MessageAttributeValue> | undefined;

function mapAttributes(attributes: Attributes, binary: (value: unknown) => unknown): Attributes {
  if (!attributes) return attributes;
  const mapped: Record<string, sqs.MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    mapped[name] = { ...value };
    if (value.BinaryValue != null) mapped[name].BinaryValue = binary(value.BinaryValue) as Uint8Array;
    if (value.BinaryListValues) mapped[name].BinaryListValues = value.BinaryListValues.map(binary) as Uint8Array[];
  }
  return mapped;
}

const toBase64 = (bytes: unknown) => Buffer.from(bytes as Uint8Array).toString('base64');
const fromBase64 = (text: unknown) => new Uint8Array(Buffer.from(text as string, 'base64'));

/** The request body for an operation's input. */
export function encodeInput(operation: string, input: object): string {
  if (operation === 'SendMessageBatch') {
    const batch = input as sqs.SendMessageBatchRequest;
    if (batch.Entries?.some((entry) => entry.MessageAttributes || entry.MessageSystemAttributes)) {
      return JSON.stringify({
        ...batch,
        Entries: batch.Entries.map((entry) => ({
          ...entry,
          MessageAttributes: mapAttributes(entry.MessageAttributes, toBase64),
          MessageSystemAttributes: mapAttributes(entry.MessageSystemAttributes as Attributes, toBase64),
        })),
      });
    }
  }
  return JSON.stringify(input);
}

/** An operation's output from a successful response's body; throws on a body that is not a JSON object. */
export function decodeOutput(operation: string, body: string, $metadata: ResponseMetadata): object {
  const parsed: unknown = body ? JSON.parse(body) : {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SyntaxError(`SQS answered ${operation} with a body that is not a JSON object`);
  }
  const output = parsed as Record<string, unknown>;
  if (operation === 'ReceiveMessage') {
    for (const message of (output as sqs.ReceiveMessageResult).Messages ?? []) {
      if (message.MessageAttributes) message.MessageAttributes = mapAttributes(message.MessageAttributes, fromBase64);
    }
  }
  output.$metadata = $metadata;
  return output;
}

/**
 * What the SDK's retry rules need to know of an error answer: its name (the error type SQS sends; the last part of
 * the query-compatible code in `x-amzn-query-error` when there is no body) and its status.
 */
export function answerError(status: number, body: string, queryError?: string): Error {
  let type = '';
  try {
    type = String((JSON.parse(body) as { __type?: string }).__type ?? '');
  } catch {
    type = '';
  }
  const queryCode = queryError?.split(';')[0].split('.').pop() ?? '';
  const name = type.split('#').pop()!.split(':')[0] || queryCode || `HTTP${status}`;
  const error = new Error(`SQS answered HTTP ${status} (${name})`);
  return Object.assign(error, {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}
