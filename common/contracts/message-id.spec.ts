import { randomUUID } from 'node:crypto';
import { messageIdFor } from './message-id';

describe('messageIdFor', () => {
  const sender = randomUUID();
  const conversation = randomUUID();
  const clientId = randomUUID();

  it('is stable for the same sender, conversation and client id, whatever the case', () => {
    expect(messageIdFor(sender, conversation, clientId)).toBe(
      messageIdFor(sender.toUpperCase(), conversation.toUpperCase(), clientId.toUpperCase()),
    );
  });

  it('differs across senders, conversations and client ids', () => {
    const id = messageIdFor(sender, conversation, clientId);
    expect(id).not.toBe(messageIdFor(randomUUID(), conversation, clientId));
    expect(id).not.toBe(messageIdFor(sender, randomUUID(), clientId));
    expect(id).not.toBe(messageIdFor(sender, conversation, randomUUID()));
  });

  it('is a version-5 RFC 4122 uuid', () => {
    expect(messageIdFor(sender, conversation, clientId)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
