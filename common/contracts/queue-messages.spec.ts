import { randomUUID } from 'node:crypto';
import {
  isDeviceMessage,
  MAX_CIPHERTEXT_BASE64_LENGTH,
  messageGroupOf,
  MessageQueueBodyV1,
  parseMessageQueueBody,
  parseMessagesQueueBody,
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

const validDeviceMessage = () => ({
  v: 1,
  kind: 'device-message',
  id: randomUUID(),
  userId: randomUUID(),
  deviceId: 2,
  senderId: randomUUID(),
  senderDeviceId: 1,
  ciphertext: Buffer.from('sender key').toString('base64'),
  sentAt: new Date().toISOString(),
});

describe('parseMessagesQueueBody', () => {
  it('reads a body without a kind as a conversation message, as queued before device messages existed', () => {
    const body = validMessage();
    const parsed = parseMessagesQueueBody(JSON.stringify(body));
    expect(parsed).toEqual(body);
    expect(isDeviceMessage(parsed)).toBe(false);
    expect(messageGroupOf(parsed)).toBe(body.conversationId);
  });

  it('reads a device message, grouped by its recipient device', () => {
    const body = validDeviceMessage();
    const parsed = parseMessagesQueueBody(JSON.stringify(body));
    expect(parsed).toEqual(body);
    expect(isDeviceMessage(parsed)).toBe(true);
    expect(messageGroupOf(parsed)).toBe(`device:${body.userId}:2`);
  });

  it.each([
    ['an unknown kind', { ...validDeviceMessage(), kind: 'call' }, /unknown body kind "call"/],
    ['an unknown version', { ...validDeviceMessage(), v: 2 }, /unknown body version 2/],
    ['no recipient device', { ...validDeviceMessage(), deviceId: undefined }, /deviceId must be a positive integer/],
    ['a fractional device', { ...validDeviceMessage(), deviceId: 1.5 }, /deviceId must be a positive integer/],
    ['no sender device', { ...validDeviceMessage(), senderDeviceId: '1' }, /senderDeviceId must be a positive/],
    ['a bad recipient', { ...validDeviceMessage(), userId: 'bob' }, /userId must be a uuid/],
    ['non-base64 ciphertext', { ...validDeviceMessage(), ciphertext: '%%%' }, /ciphertext must be non-empty base64/],
    [
      'oversize ciphertext',
      { ...validDeviceMessage(), ciphertext: 'A'.repeat(MAX_CIPHERTEXT_BASE64_LENGTH + 4) },
      /larger than 64 KiB/,
    ],
    ['a conversation message missing its members', { ...validMessage(), memberIds: undefined }, /memberIds/],
  ])('rejects %s with a reason', (_case, body, reason) => {
    expect(() => parseMessagesQueueBody(JSON.stringify(body))).toThrow(QueueBodyError);
    expect(() => parseMessagesQueueBody(JSON.stringify(body))).toThrow(reason);
  });

  it('never lets a device group equal a conversation group', () => {
    const conversation = validMessage() as MessageQueueBodyV1;
    const device = { ...validDeviceMessage(), userId: conversation.conversationId } as const;
    expect(messageGroupOf(device as never)).not.toBe(messageGroupOf(conversation));
  });
});
