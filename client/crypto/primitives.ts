/**
 * The only primitives the protocol uses, each a thin wrapper over the audited noble libraries so tests can pin them
 * to published vectors (RFC 7748, RFC 8032, RFC 5869) through exactly the code the protocol calls.
 *
 * AEAD: ChaCha20-Poly1305 (RFC 8439). In pure JavaScript it is constant time by construction (add/rotate/xor, no
 * S-box tables, no AES-NI to fall back on), it authenticates associated data natively, and it is the AEAD of
 * TLS 1.3/WireGuard. Every key we encrypt under is a one-time message key, expanded by HKDF into a 32-byte cipher
 * key and a 12-byte nonce: the nonce is deterministic, which is safe because each (key, nonce) pair encrypts exactly
 * one plaintext.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha';
import { ed25519, x25519 } from '@noble/curves/ed25519';
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf';
import { hmac } from '@noble/hashes/hmac';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils';
import { concatBytes, equalBytes, utf8Encode } from './bytes';
import { DecryptionFailed } from './errors';

export const KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

export interface KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** crypto.getRandomValues underneath, in Node and in browsers alike. */
export function randomBytes(length: number): Uint8Array {
  return nobleRandomBytes(length);
}

export function generateX25519KeyPair(): KeyPair {
  const privateKey = randomBytes(KEY_LENGTH);
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

/**
 * X25519 agreement. An all-zero result (a low-order public key from a hostile peer) is refused: it would make the
 * shared secret independent of our private key.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== KEY_LENGTH) throw new DecryptionFailed('X25519 public key must be 32 bytes');
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(privateKey, publicKey);
  } catch {
    throw new DecryptionFailed('invalid X25519 public key');
  }
  if (equalBytes(shared, new Uint8Array(KEY_LENGTH))) throw new DecryptionFailed('low-order X25519 public key');
  return shared;
}

export function generateEd25519KeyPair(): KeyPair {
  const privateKey = randomBytes(KEY_LENGTH);
  return { privateKey, publicKey: ed25519.getPublicKey(privateKey) };
}

export function ed25519PublicKey(privateKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(privateKey);
}

export function sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, privateKey);
}

/** Never throws: a malformed key or signature is simply not valid. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Uint8Array {
  return nobleHkdf(nobleSha256, ikm, salt, typeof info === 'string' ? utf8Encode(info) : info, length);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, data);
}

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export function sha512(data: Uint8Array): Uint8Array {
  return nobleSha512(data);
}

export function aeadEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** Any failure (wrong key, tampered ciphertext or associated data) is one error: DecryptionFailed. */
export function aeadDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    throw new DecryptionFailed('authentication failed');
  }
}

const ZERO_SALT = new Uint8Array(32);

/**
 * Encrypts under a one-time key (a ratchet or sender-key message key): HKDF expands it into a cipher key and nonce,
 * the `label` separating uses so the same bytes can never key two different contexts.
 */
export function sealWithMessageKey(messageKey: Uint8Array, label: string, plaintext: Uint8Array, ad: Uint8Array) {
  const { key, nonce } = expandMessageKey(messageKey, label);
  return aeadEncrypt(key, nonce, plaintext, ad);
}

export function openWithMessageKey(messageKey: Uint8Array, label: string, ciphertext: Uint8Array, ad: Uint8Array) {
  const { key, nonce } = expandMessageKey(messageKey, label);
  return aeadDecrypt(key, nonce, ciphertext, ad);
}

function expandMessageKey(messageKey: Uint8Array, label: string): { key: Uint8Array; nonce: Uint8Array } {
  const okm = hkdf(messageKey, ZERO_SALT, concatBytes(utf8Encode('Cyphr message key v1 '), utf8Encode(label)), 44);
  return { key: okm.slice(0, 32), nonce: okm.slice(32, 44) };
}
