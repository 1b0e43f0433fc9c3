/**
 * What travels in the device mailbox. Everything is a pairwise envelope (binary, version byte 1) except the link
 * request, which a new device sends before it has the identity key to open a session with: it carries only a public
 * key, and is plain JSON (first byte `{`).
 */
import { fromBase64, toBase64, utf8Decode, utf8Encode } from '../crypto/bytes';
import { InvalidEnvelope } from '../crypto/errors';

/** Inside a pairwise envelope. */
export type PairwisePayload =
  /** The sender device's sender key for a conversation: base64 of the crypto core's encoded distribution. */
  | { kind: 'sender-key'; conversationId: string; distribution: string }
  /**
   * The sender's account removed one of its devices: look its devices up again before the next send, so our sender
   * keys rotate past the removed one. Said by the account itself, so a server that hides `devices-changed` (or a
   * client that was offline) cannot keep a removed device reading.
   */
  | { kind: 'devices-changed' };

export interface LinkRequest {
  kind: 'link-request';
  /** The new device's provisioning public key (base64). */
  publicKey: string;
}

export function encodePairwisePayload(payload: PairwisePayload): Uint8Array {
  return utf8Encode(JSON.stringify(payload));
}

export function decodePairwisePayload(bytes: Uint8Array): PairwisePayload {
  let payload: PairwisePayload;
  try {
    payload = JSON.parse(utf8Decode(bytes)) as PairwisePayload;
  } catch {
    throw new InvalidEnvelope('device message payload is not JSON');
  }
  if (payload?.kind === 'devices-changed') return { kind: 'devices-changed' };
  if (payload?.kind !== 'sender-key' || typeof payload.conversationId !== 'string') {
    throw new InvalidEnvelope('unknown device message payload');
  }
  return payload;
}

export function encodeLinkRequest(publicKey: string): string {
  return toBase64(utf8Encode(JSON.stringify({ kind: 'link-request', publicKey } satisfies LinkRequest)));
}

/** A mailbox item's bytes, told apart by the first byte. */
export function classifyMailboxItem(
  ciphertext: string,
): { kind: 'envelope'; bytes: Uint8Array } | { kind: 'link-request'; request: LinkRequest } {
  const bytes = fromBase64(ciphertext);
  if (bytes[0] !== 0x7b) return { kind: 'envelope', bytes };
  try {
    const request = JSON.parse(utf8Decode(bytes)) as LinkRequest;
    if (request.kind === 'link-request' && typeof request.publicKey === 'string') {
      return { kind: 'link-request', request };
    }
  } catch {
    // Fall through: not a link request.
  }
  throw new InvalidEnvelope('unknown mailbox item');
}
