import { randomUUID } from 'node:crypto';
import { messageIdFor } from './message-id';

describe('messageIdFor', () => {
  const sender = randomUUID();
  const clientId = randomUUID();

  it('is stable for the same sender and client id, whatever the case', () => {
    expect(messageIdFor(sender, clientId)).toBe(messageIdFor(sender, clientId.toUpperCase()));
  });

  it('differs across senders and across client ids', () => {
    expect(messageIdFor(sender, clientId)).not.toBe(messageIdFor(randomUUID(), clientId));
    expect(messageIdFor(sender, clientId)).not.toBe(messageIdFor(sender, randomUUID()));
  });

  it('is a version-5 RFC 4122 uuid', () => {
    expect(messageIdFor(sender, clientId)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
