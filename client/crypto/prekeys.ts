/**
 * Per-DEVICE prekeys. Records are JSON (base64 strings) so the SDK stores them as they are; the `to*Wire` functions
 * give the shapes POST /v1/keys takes: `{keyId, publicKey, signature}` and one-time `{keyId, publicKey}`.
 *
 * A signed prekey's (and the last-resort key's) signature is the identity key's Ed25519 signature over the encoded
 * public key: 0x05 (the Curve25519 type byte libsignal uses) followed by the 32-byte X25519 key.
 */
import { concatBytes, fromBase64, toBase64 } from './bytes';
import { InvalidSignature } from './errors';
import { IdentityKeyPair } from './identity';
import { generateX25519KeyPair, KEY_LENGTH, sign, verify } from './primitives';

export const MAX_KEY_ID = 2 ** 31 - 1;

export interface SignedPreKeyRecord {
  keyId: number;
  publicKey: string;
  privateKey: string;
  signature: string;
  /** Milliseconds since the epoch: the SDK rotates the signed prekey weekly. */
  createdAt: number;
}

/** The last-resort key has the signed prekey's shape; it is handed out when one-time prekeys run out. */
export type LastResortKeyRecord = SignedPreKeyRecord;

export interface OneTimePreKeyRecord {
  keyId: number;
  publicKey: string;
  privateKey: string;
}

export interface SignedPreKeyWire {
  keyId: number;
  publicKey: string;
  signature: string;
}

export interface OneTimePreKeyWire {
  keyId: number;
  publicKey: string;
}

export function encodePublicKey(publicKey: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([0x05]), publicKey);
}

function checkKeyId(keyId: number): void {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > MAX_KEY_ID) throw new RangeError(`invalid key id ${keyId}`);
}

export function generateSignedPreKey(identity: IdentityKeyPair, keyId: number, now = Date.now()): SignedPreKeyRecord {
  checkKeyId(keyId);
  const pair = generateX25519KeyPair();
  return {
    keyId,
    publicKey: toBase64(pair.publicKey),
    privateKey: toBase64(pair.privateKey),
    signature: toBase64(sign(identity.privateKey, encodePublicKey(pair.publicKey))),
    createdAt: now,
  };
}

export function generateLastResortKey(identity: IdentityKeyPair, keyId: number, now = Date.now()): LastResortKeyRecord {
  return generateSignedPreKey(identity, keyId, now);
}

/** `count` keys with ids from `startId`, wrapping below MAX_KEY_ID (ids only need to be unique among live keys). */
export function generateOneTimePreKeys(startId: number, count: number): OneTimePreKeyRecord[] {
  checkKeyId(startId);
  return Array.from({ length: count }, (_, i) => {
    const pair = generateX25519KeyPair();
    return {
      keyId: (startId + i) % (MAX_KEY_ID + 1),
      publicKey: toBase64(pair.publicKey),
      privateKey: toBase64(pair.privateKey),
    };
  });
}

export function toSignedPreKeyWire(record: SignedPreKeyRecord): SignedPreKeyWire {
  return { keyId: record.keyId, publicKey: record.publicKey, signature: record.signature };
}

export function toOneTimePreKeyWire(record: OneTimePreKeyRecord): OneTimePreKeyWire {
  return { keyId: record.keyId, publicKey: record.publicKey };
}

export function isValidPreKeySignature(identityKey: Uint8Array, publicKey: string, signature: string): boolean {
  let key: Uint8Array;
  let sig: Uint8Array;
  try {
    key = fromBase64(publicKey);
    sig = fromBase64(signature);
  } catch {
    return false;
  }
  return key.length === KEY_LENGTH && verify(identityKey, encodePublicKey(key), sig);
}

/** Throws InvalidSignature unless `identityKey` signed this prekey (signed prekey or last-resort key). */
export function verifySignedPreKey(identityKey: Uint8Array, preKey: { publicKey: string; signature?: string }): void {
  if (!preKey.signature || !isValidPreKeySignature(identityKey, preKey.publicKey, preKey.signature)) {
    throw new InvalidSignature('prekey signature does not verify under the identity key');
  }
}
