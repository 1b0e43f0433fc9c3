import { createHash } from 'node:crypto';

/**
 * The server id of a message, derived from who sent it, to which conversation, and the client's own id for it
 * (RFC 4122 v5 style, SHA-1 over a fixed namespace). The same (sender, conversation, clientMessageId) always
 * yields the same id, on any instance, with no lookup: a retried send gets the same answer and the worker's
 * unique key drops the copy. The conversation is part of it because a client id is an idempotency key for one
 * conversation's messages: the same client id in another conversation is another message, not a retry.
 */
const NAMESPACE = Buffer.from('8c1e4a52b7d44f0f9a5e3c2d1b0a9f87', 'hex');

export function messageIdFor(senderId: string, conversationId: string, clientMessageId: string): string {
  const hash = createHash('sha1')
    .update(NAMESPACE)
    .update(`${senderId.toLowerCase()}:${conversationId.toLowerCase()}:${clientMessageId.toLowerCase()}`)
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
