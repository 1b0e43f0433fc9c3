/**
 * X3DH key agreement (https://signal.org/docs/specifications/x3dh/), with the account's Ed25519 identity key used
 * for agreement in its X25519 form.
 *
 *   DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)   DH4 = DH(EK_A, OPK_B) when a prekey was used
 *   SK  = HKDF(F || DH1 || DH2 || DH3 [|| DH4]),  F = 32 × 0xFF, salt = 32 zero bytes, info = INFO
 *   AD  = IK_A || IK_B || address_A || address_B
 *
 * The "OPK" is either a one-time prekey or the device's last-resort key (whose signature is checked like the signed
 * prekey's). Binding both device addresses into AD means a session's messages cannot be replayed into a session
 * between other devices of the same two accounts.
 */
import { DeviceAddress, encodeAddress } from './address';
import { concatBytes, fromBase64 } from './bytes';
import { InvalidEnvelope } from './errors';
import { decodeIdentityKey, IdentityKeyPair, identityAgreementKeyPair, identityAgreementPublicKey } from './identity';
import { verifySignedPreKey } from './prekeys';
import { dh, generateX25519KeyPair, hkdf, KEY_LENGTH } from './primitives';

const INFO = 'Cyphr X3DH v1';
const F = new Uint8Array(32).fill(0xff);
const ZERO_SALT = new Uint8Array(32);

/** One device's bundle as GET /v1/users/{id}/keys answers it (the account's identityKey alongside). */
export interface PreKeyBundle {
  identityKey: string;
  signedPreKey: { keyId: number; publicKey: string; signature: string };
  preKey?: { keyId: number; publicKey: string; lastResort: boolean; signature?: string } | null;
}

/** Which of the responder's prekeys the initiator used: travels in the PreKey message header. */
export interface PreKeyIds {
  signedPreKeyId: number;
  /** One-time prekey or last-resort key id; absent when the bundle had neither. */
  preKeyId?: number;
  lastResort: boolean;
}

export interface X3dhResult {
  sharedSecret: Uint8Array;
  associatedData: Uint8Array;
}

export interface X3dhInitiation extends X3dhResult {
  /** EK_A public: sent in the header of every PreKey message. */
  ephemeralKey: Uint8Array;
  /** SPK_B public: the responder's first ratchet key. */
  theirSignedPreKey: Uint8Array;
  preKeyIds: PreKeyIds;
}

function decodeKey(base64: string): Uint8Array {
  const key = fromBase64(base64);
  if (key.length !== KEY_LENGTH) throw new InvalidEnvelope('X25519 key must be 32 bytes');
  return key;
}

function deriveSecret(dhs: Uint8Array[]): Uint8Array {
  return hkdf(concatBytes(F, ...dhs), ZERO_SALT, INFO, 32);
}

function associatedData(
  initiatorIdentity: Uint8Array,
  responderIdentity: Uint8Array,
  initiator: DeviceAddress,
  responder: DeviceAddress,
): Uint8Array {
  return concatBytes(initiatorIdentity, responderIdentity, encodeAddress(initiator), encodeAddress(responder));
}

/** Alice's side. Throws InvalidSignature on a bad signed-prekey or last-resort signature. */
export function x3dhInitiate(params: {
  identity: IdentityKeyPair;
  ourAddress: DeviceAddress;
  theirAddress: DeviceAddress;
  bundle: PreKeyBundle;
}): X3dhInitiation {
  const { identity, bundle } = params;
  const theirIdentity = decodeIdentityKey(bundle.identityKey);
  verifySignedPreKey(theirIdentity, bundle.signedPreKey);
  if (bundle.preKey?.lastResort) verifySignedPreKey(theirIdentity, bundle.preKey);

  const spk = decodeKey(bundle.signedPreKey.publicKey);
  const opk = bundle.preKey ? decodeKey(bundle.preKey.publicKey) : undefined;
  const ephemeral = generateX25519KeyPair();
  const ours = identityAgreementKeyPair(identity);
  const dhs = [
    dh(ours.privateKey, spk),
    dh(ephemeral.privateKey, identityAgreementPublicKey(theirIdentity)),
    dh(ephemeral.privateKey, spk),
  ];
  if (opk) dhs.push(dh(ephemeral.privateKey, opk));
  return {
    sharedSecret: deriveSecret(dhs),
    associatedData: associatedData(identity.publicKey, theirIdentity, params.ourAddress, params.theirAddress),
    ephemeralKey: ephemeral.publicKey,
    theirSignedPreKey: spk,
    preKeyIds: {
      signedPreKeyId: bundle.signedPreKey.keyId,
      preKeyId: bundle.preKey?.keyId,
      lastResort: bundle.preKey?.lastResort ?? false,
    },
  };
}

/** Bob's side, given the private halves of the prekeys the initiator named. */
export function x3dhRespond(params: {
  identity: IdentityKeyPair;
  ourAddress: DeviceAddress;
  theirAddress: DeviceAddress;
  theirIdentityKey: Uint8Array;
  theirEphemeralKey: Uint8Array;
  signedPreKeyPrivate: Uint8Array;
  /** One-time prekey or last-resort key private half, when the initiator used one. */
  preKeyPrivate?: Uint8Array;
}): X3dhResult {
  const ours = identityAgreementKeyPair(params.identity);
  const ek = params.theirEphemeralKey;
  const dhs = [
    dh(params.signedPreKeyPrivate, identityAgreementPublicKey(params.theirIdentityKey)),
    dh(ours.privateKey, ek),
    dh(params.signedPreKeyPrivate, ek),
  ];
  if (params.preKeyPrivate) dhs.push(dh(params.preKeyPrivate, ek));
  return {
    sharedSecret: deriveSecret(dhs),
    associatedData: associatedData(
      params.theirIdentityKey,
      params.identity.publicKey,
      params.theirAddress,
      params.ourAddress,
    ),
  };
}
