import { Message } from '@aws-sdk/client-sqs';
import { retryDelaySeconds } from './retry';

const received = (count: number): Message => ({
  MessageId: 'm',
  Attributes: { ApproximateReceiveCount: String(count) },
});

describe('retryDelaySeconds', () => {
  it('backs a message-caused failure off exponentially, capped at the visibility timeout', () => {
    expect([1, 2, 3, 4, 5, 6].map((count) => retryDelaySeconds(received(count), true, 2, 30))).toEqual([
      2, 4, 8, 16, 30, 30,
    ]);
  });

  it('keeps the full visibility timeout for an infrastructure failure, so an outage does not flush messages into the DLQ', () => {
    expect(retryDelaySeconds(received(1), false, 2, 30)).toBe(30);
  });

  it('treats a missing receive count as the first receive', () => {
    expect(retryDelaySeconds({ MessageId: 'm' }, true, 2, 30)).toBe(2);
  });
});
