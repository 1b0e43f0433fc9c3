import { QueueDoesNotExist, SQSServiceException } from '@aws-sdk/client-sqs';
import { decodeError, decodeOutput, encodeInput, retryDelayMs, retryKind } from './sqs-json-protocol';

const metadata = { httpStatusCode: 400, requestId: 'r-1', attempts: 1, totalRetryDelay: 0 };

describe('SQS JSON protocol', () => {
  it('sends binary attribute values as base64 and leaves the rest of a batch as it is', () => {
    const body = JSON.parse(
      encodeInput('SendMessageBatch', {
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo',
        Entries: [
          {
            Id: 'a',
            MessageBody: 'é body',
            MessageGroupId: 'g',
            MessageAttributes: {
              bin: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 255, 7]) },
              list: { DataType: 'Binary', BinaryListValues: [new Uint8Array([1]), new Uint8Array([2, 3])] },
              text: { DataType: 'String', StringValue: 'x' },
            },
          },
          { Id: 'b', MessageBody: 'plain' },
        ],
      }),
    );
    expect(body.Entries[0].MessageAttributes).toEqual({
      bin: { DataType: 'Binary', BinaryValue: 'AP8H' },
      list: { DataType: 'Binary', BinaryListValues: ['AQ==', 'AgM='] },
      text: { DataType: 'String', StringValue: 'x' },
    });
    expect(body.Entries[0]).toMatchObject({ Id: 'a', MessageBody: 'é body', MessageGroupId: 'g' });
    expect(body.Entries[1]).toEqual({ Id: 'b', MessageBody: 'plain' });
  });

  it('turns received binary attribute values back into bytes and adds the response metadata', () => {
    const output = decodeOutput(
      'ReceiveMessage',
      JSON.stringify({
        Messages: [
          { MessageId: 'm', Body: 'b', MessageAttributes: { bin: { DataType: 'Binary', BinaryValue: 'AP8H' } } },
          { MessageId: 'n', Body: 'c', Attributes: { SentTimestamp: '1' } },
        ],
      }),
      { ...metadata, httpStatusCode: 200 },
    ) as { Messages: { MessageAttributes?: { bin: { BinaryValue: Uint8Array } } }[]; $metadata: object };
    expect(output.Messages[0].MessageAttributes!.bin.BinaryValue).toEqual(new Uint8Array([0, 255, 7]));
    expect(output.Messages[1]).toEqual({ MessageId: 'n', Body: 'c', Attributes: { SentTimestamp: '1' } });
    expect(output.$metadata).toEqual({ ...metadata, httpStatusCode: 200 });
  });

  it('answers an empty body (a receive with nothing) with just the metadata', () => {
    expect(decodeOutput('ReceiveMessage', '', metadata)).toEqual({ $metadata: metadata });
  });

  it('raises the modeled exception, with the query-compatible code, for an error SQS names', () => {
    const error = decodeError(
      400,
      { 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' },
      JSON.stringify({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' }),
      metadata,
    );
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect(error).toMatchObject({
      name: 'QueueDoesNotExist',
      message: 'The specified queue does not exist.',
      $fault: 'client',
      $metadata: metadata,
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
      Type: 'Sender',
    });
  });

  it('raises a service exception named after an error it does not model, and survives a body that is not JSON', () => {
    const named = decodeError(400, {}, '{"__type":"RequestThrottled:http://x","Message":"slow down"}', metadata);
    expect(named).toBeInstanceOf(SQSServiceException);
    expect(named).toMatchObject({ name: 'RequestThrottled', message: 'slow down', $fault: 'client' });
    const html = decodeError(502, {}, '<html>bad gateway</html>', { ...metadata, httpStatusCode: 502 });
    expect(html).toMatchObject({ name: 'InternalError', $fault: 'server', message: 'SQS answered HTTP 502' });
  });

  it('retries throttling, 5xx and dropped connections, and never an abort or a client error', () => {
    const withStatus = (name: string, httpStatusCode: number) =>
      Object.assign(new Error('x'), { name, $metadata: { httpStatusCode } });
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    expect(retryKind(withStatus('RequestThrottled', 400))).toBe('throttling');
    expect(retryKind(withStatus('Anything', 429))).toBe('throttling');
    expect(retryKind(withStatus('InternalError', 500))).toBe('transient');
    expect(retryKind(withStatus('ServiceUnavailable', 503))).toBe('transient');
    expect(retryKind(withCode('ECONNRESET'))).toBe('transient');
    expect(retryKind(withStatus('RequestTimeTooSkewed', 403))).toBe('clock skew');
    expect(retryKind(withStatus('QueueDoesNotExist', 400))).toBeUndefined();
    expect(retryKind(withStatus('InvalidParameterValue', 400))).toBeUndefined();
    expect(retryKind(Object.assign(withCode('ECONNRESET'), { name: 'AbortError' }))).toBeUndefined();
    expect(retryKind('not an error')).toBeUndefined();
  });

  it('backs off with full jitter, from 500 ms for throttling, up to 20 s', () => {
    expect(retryDelayMs(1, 'transient', () => 1)).toBe(200);
    expect(retryDelayMs(1, 'throttling', () => 1)).toBe(1000);
    expect(retryDelayMs(2, 'transient', () => 0.5)).toBe(200);
    expect(retryDelayMs(30, 'throttling', () => 1)).toBe(20_000);
    expect(retryDelayMs(3, 'transient', () => 0)).toBe(0);
  });
});
