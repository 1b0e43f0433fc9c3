/**
 * Plaintext is padded before encryption to a multiple of 160 bytes (0x80 then zeros, ISO/IEC 7816-4), as Signal
 * does: typical text messages all fall in the first one or two buckets, so the server learns "short" rather than a
 * length, and the cost is at most 159 bytes. (Power-of-two buckets leak less for long payloads but double the size
 * in the worst case; attachments, the long payloads, are not carried in envelopes.)
 */
import { InvalidEnvelope } from './errors';

export const PADDING_BLOCK = 160;

export function pad(plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((plaintext.length + 1) / PADDING_BLOCK) * PADDING_BLOCK);
  out.set(plaintext);
  out[plaintext.length] = 0x80;
  return out;
}

export function unpad(padded: Uint8Array): Uint8Array {
  if (padded.length === 0 || padded.length % PADDING_BLOCK !== 0) throw new InvalidEnvelope('bad padded length');
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80) throw new InvalidEnvelope('bad padding');
  return padded.slice(0, end);
}
