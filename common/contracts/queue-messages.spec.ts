import { randomUUID } from 'node:crypto';
import {
  MAX_CIPHERTEXT_BASE64_LENGTH,
  parseMessageQueueBody,
  parseNotificationQueueBody,
  QueueBodyError,
} from './queue-messages';

const validMessage = () => ({
  v: 1,
  id: randomUUID(),
  conversationId: randomUUID(),
  senderId: randomUUID(),
  clientMessageId: randomUUID(),
  ciphertext: Buffer.from('opaque').toString('base64'),
  sentAt: new Date().toISOString(),
  memberIds: [randomUUID(), randomUUID()],
});

describe('parseMessageQueueBody', () => {
  it('accepts a well-formed v1 body', () => {
    const body = validMessage();
    expect(parseMessageQueueBody(JSON.stringify(body))).toEqual(body);
  });

  it.each([
    ['not JSON', '{nope', /not valid JSON/],
    ['a JSON array', '[]', /not a JSON object/],
    ['an unknown version', JSON.stringify({ ...validMessage(), v: 2 }), /unknown body version 2/],
    ['a missing field', JSON.stringify({ ...validMessage(), senderId: undefined }), /senderId must be a uuid/],
    [
      'non-base64 ciphertext',
      JSON.stringify({ ...validMessage(), ciphertext: 'not base64!' }),
      /ciphertext must be non-empty base64/,
    ],
    [
      'oversize ciphertext',
      JSON.stringify({ ...validMessage(), ciphertext: 'A'.repeat(MAX_CIPHERTEXT_BASE64_LENGTH + 4) }),
      /larger than 64 KiB/,
    ],
    ['no members', JSON.stringify({ ...validMessage(), memberIds: [] }), /memberIds/],
  ])('rejects %s with a reason', (_case, body, reason) => {
    expect(() => parseMessageQueueBody(body)).toThrow(QueueBodyError);
    expect(() => parseMessageQueueBody(body)).toThrow(reason);
  });

  it('names every problem at once', () => {
    const body = JSON.stringify({ v: 1 });
    expect(() => parseMessageQueueBody(body)).toThrow(/id must be a uuid; conversationId must be a uuid/);
  });
});

describe('parseNotificationQueueBody', () => {
  it('accepts a notification and rejects one with content fields missing', () => {
    const body = {
      v: 1,
      kind: 'message',
      userId: randomUUID(),
      conversationId: randomUUID(),
      messageId: randomUUID(),
      createdAt: new Date().toISOString(),
    };
    expect(parseNotificationQueueBody(JSON.stringify(body))).toEqual(body);
    expect(() => parseNotificationQueueBody(JSON.stringify({ ...body, kind: 'call' }))).toThrow(
      /kind must be "message"/,
    );
  });

  it('accepts a device notification (v2) only with a device id, and rejects an unknown version by name', () => {
    const body = {
      v: 2,
      kind: 'message',
      userId: randomUUID(),
      deviceId: 3,
      conversationId: randomUUID(),
      messageId: randomUUID(),
      createdAt: new Date().toISOString(),
    };
    expect(parseNotificationQueueBody(JSON.stringify(body))).toEqual(body);
    expect(() => parseNotificationQueueBody(JSON.stringify({ ...body, deviceId: undefined }))).toThrow(
      /deviceId must be a positive integer/,
    );
    expect(() => parseNotificationQueueBody(JSON.stringify({ ...body, v: 3 }))).toThrow(/unknown body version 3/);
  });
});
