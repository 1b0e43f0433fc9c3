/**
 * The ACCOUNT identity key: one Ed25519 key pair per account, shared by its devices (a new device receives it by
 * provisioning). Ed25519 signs prekeys and is what safety numbers show; its X25519 form (the birational map of
 * RFC 7748 §4.1) takes part in X3DH, so one key serves both without XEdDSA.
 */
import { edwardsToMontgomeryPriv, edwardsToMontgomeryPub } from '@noble/curves/ed25519';
import { equalBytes, fromBase64, toBase64 } from './bytes';
import { InvalidEnvelope } from './errors';
import { ed25519PublicKey, generateEd25519KeyPair, KEY_LENGTH, KeyPair } from './primitives';

/** JSON form, as stored by the SDK: both halves base64. The private half never leaves the account's devices. */
export interface SerializedIdentityKeyPair {
  publicKey: string;
  privateKey: string;
}

export interface IdentityKeyPair {
  /** Ed25519 public key (32 bytes): what the API stores as `identityKey`. */
  publicKey: Uint8Array;
  /** Ed25519 secret seed (32 bytes). */
  privateKey: Uint8Array;
}

export function generateIdentityKeyPair(): IdentityKeyPair {
  return generateEd25519KeyPair();
}

export function serializeIdentityKeyPair(pair: IdentityKeyPair): SerializedIdentityKeyPair {
  return { publicKey: toBase64(pair.publicKey), privateKey: toBase64(pair.privateKey) };
}

/** Checks the halves belong together, so a corrupted store fails here rather than as an odd decryption error. */
export function deserializeIdentityKeyPair(json: SerializedIdentityKeyPair): IdentityKeyPair {
  const privateKey = fromBase64(json.privateKey);
  const publicKey = fromBase64(json.publicKey);
  if (privateKey.length !== KEY_LENGTH || !equalBytes(ed25519PublicKey(privateKey), publicKey)) {
    throw new InvalidEnvelope('identity key pair halves do not match');
  }
  return { publicKey, privateKey };
}

/** Decodes an identity public key as the API hands it out (base64 of 32 bytes). */
export function decodeIdentityKey(base64: string): Uint8Array {
  const key = fromBase64(base64);
  if (key.length !== KEY_LENGTH) throw new InvalidEnvelope('identity key must be 32 bytes');
  return key;
}

/** The X25519 key pair for agreement (X3DH DH1/DH2). */
export function identityAgreementKeyPair(pair: IdentityKeyPair): KeyPair {
  return { publicKey: edwardsToMontgomeryPub(pair.publicKey), privateKey: edwardsToMontgomeryPriv(pair.privateKey) };
}

export function identityAgreementPublicKey(identityKey: Uint8Array): Uint8Array {
  try {
    return edwardsToMontgomeryPub(identityKey);
  } catch {
    throw new InvalidEnvelope('identity key is not a valid Ed25519 point');
  }
}
