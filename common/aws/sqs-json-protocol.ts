import * as sqs from '@aws-sdk/client-sqs';
import type { ResponseMetadata } from '@smithy/types';

/**
 * SQS's JSON protocol (AWS JSON 1.0 with query-compatible errors) for the operations LeanSqsClient sends itself:
 * the input is the SDK command's input, the output the SDK's output shape. Only message attributes need a
 * conversion: their binary values travel as base64 and the SDK's shapes hold them as bytes.
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
    if (value.BinaryValue !== undefined) mapped[name].BinaryValue = binary(value.BinaryValue) as Uint8Array;
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

/** An operation's output from a successful response's body. */
export function decodeOutput(operation: string, body: string, $metadata: ResponseMetadata): object {
  const output = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
  if (operation === 'ReceiveMessage') {
    for (const message of (output as sqs.ReceiveMessageResult).Messages ?? []) {
      if (message.MessageAttributes) message.MessageAttributes = mapAttributes(message.MessageAttributes, fromBase64);
    }
  }
  output.$metadata = $metadata;
  return output;
}

/**
 * The error an SDK call would throw for the same response: the modeled exception class when SQS names one
 * (QueueDoesNotExist, ...), with the query-compatible Code and Type SQS sends in a header
 * (AWS.SimpleQueueService.NonExistentQueue;Sender).
 */
export function decodeError(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  $metadata: ResponseMetadata,
): sqs.SQSServiceException {
  let data: Record<string, unknown> = {};
  try {
    data = body ? (JSON.parse(body) as Record<string, unknown>) : {};
  } catch {
    data = {};
  }
  const type = String(data.__type ?? headers['x-amzn-errortype'] ?? '');
  const name = type.split('#').pop()!.split(':')[0] || (status >= 500 ? 'InternalError' : 'UnknownError');
  const message = String(data.message ?? data.Message ?? `SQS answered HTTP ${status}`);
  const queryError = headers['x-amzn-query-error'];
  const [Code, Type] = typeof queryError === 'string' ? queryError.split(';') : [];
  const fault = status >= 500 ? 'server' : 'client';
  const Modeled = (sqs as unknown as Record<string, unknown>)[name];
  const options = { name, $fault: fault, $metadata, message } as const;
  const error =
    typeof Modeled === 'function' && Modeled.prototype instanceof sqs.SQSServiceException
      ? new (Modeled as new (options: object) => sqs.SQSServiceException)({ ...options, message })
      : new sqs.SQSServiceException(options);
  return Object.assign(error, { message, ...(Code ? { Code, Type } : {}) });
}

const THROTTLING = new Set([
  'RequestThrottled',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
]);
const CLOCK_SKEW = new Set([
  'RequestTimeTooSkewed',
  'RequestExpired',
  'RequestInTheFuture',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'AuthFailure',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

export type RetryKind = 'throttling' | 'transient' | 'clock skew' | undefined;

/** Whether an attempt's error is worth another attempt, by the rules of the SDK's standard retry mode. */
export function retryKind(caught: unknown): RetryKind {
  // Not `instanceof Error`: errors from another realm (node's own, inside a VM context) fail that test.
  if (typeof caught !== 'object' || caught === null) return undefined;
  const error = caught as Error;
  if (error.name === 'AbortError') return undefined;
  const status = (error as { $metadata?: ResponseMetadata }).$metadata?.httpStatusCode;
  if (THROTTLING.has(error.name) || status === 429) return 'throttling';
  if (CLOCK_SKEW.has(error.name)) return 'clock skew';
  const code = (error as NodeJS.ErrnoException).code;
  if ((code && TRANSIENT_CODES.has(code)) || (status !== undefined && TRANSIENT_STATUS.has(status))) {
    return 'transient';
  }
  return undefined;
}

/** The SDK's standard backoff: full jitter on 100 ms × 2^attempt, at most 20 s (throttling starts at 500 ms). */
export function retryDelayMs(attempt: number, kind: RetryKind, random = Math.random): number {
  const base = kind === 'throttling' ? 500 : 100;
  return Math.floor(Math.min(20_000, random() * base * 2 ** attempt));
}
