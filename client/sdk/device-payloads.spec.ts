import { InvalidEnvelope } from '../crypto/errors';
import {
  classifyMailboxItem,
  decodePairwisePayload,
  encodeLinkRequest,
  encodePairwisePayload,
} from './device-payloads';

describe('device mailbox payloads', () => {
  it('tells a link request (plain JSON) from an envelope (version byte 1)', () => {
    expect(classifyMailboxItem(encodeLinkRequest('cHVibGlj'))).toEqual({
      kind: 'link-request',
      request: { kind: 'link-request', publicKey: 'cHVibGlj' },
    });
    expect(classifyMailboxItem(Buffer.from([1, 2, 3]).toString('base64'))).toMatchObject({ kind: 'envelope' });
    expect(() => classifyMailboxItem(Buffer.from('{"kind":"other"}').toString('base64'))).toThrow(InvalidEnvelope);
  });

  it('round-trips a sender-key payload and refuses anything else', () => {
    const payload = { kind: 'sender-key' as const, conversationId: 'c', distribution: 'ZA==' };
    expect(decodePairwisePayload(encodePairwisePayload(payload))).toEqual(payload);
    expect(() => decodePairwisePayload(new TextEncoder().encode('{"kind":"x"}'))).toThrow(InvalidEnvelope);
    expect(() => decodePairwisePayload(new Uint8Array([0xff]))).toThrow(InvalidEnvelope);
  });
});
