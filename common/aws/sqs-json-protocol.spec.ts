import { answerError, decodeOutput, encodeInput } from './sqs-json-protocol';

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

  it('refuses a successful answer whose body is not a JSON object', () => {
    for (const body of ['null', '[]', '"text"', '<html>']) {
      expect(() => decodeOutput('SendMessageBatch', body, metadata)).toThrow(SyntaxError);
    }
  });

  it('leaves a binary attribute without a value as it is', () => {
    const output = decodeOutput(
      'ReceiveMessage',
      JSON.stringify({
        Messages: [{ MessageId: 'm', MessageAttributes: { a: { DataType: 'Binary', BinaryValue: null } } }],
      }),
      metadata,
    ) as { Messages: { MessageAttributes: object }[] };
    expect(output.Messages[0].MessageAttributes).toEqual({ a: { DataType: 'Binary', BinaryValue: null } });
  });

  it('names an error answer after the type SQS sends, else its query-compatible code, else its status', () => {
    const throttled = '{"__type":"com.amazonaws.sqs#RequestThrottled","message":"slow down"}';
    expect(answerError(400, throttled)).toMatchObject({
      name: 'RequestThrottled',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect(answerError(400, '{"__type":"RequestThrottled:http://internal.amazon.com/"}').name).toBe('RequestThrottled');
    expect(answerError(400, '', 'AWS.SimpleQueueService.NonExistentQueue;Sender').name).toBe('NonExistentQueue');
    expect(answerError(503, '<html>unavailable</html>')).toMatchObject({
      name: 'HTTP503',
      $fault: 'server',
      $metadata: { httpStatusCode: 503 },
    });
  });
});
