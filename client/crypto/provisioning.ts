/**
 * Linking a new device of the same account. The identity private key lives only on the account's devices; a new
 * login receives it from an existing device, and only after the user has compared a verification code, or a server
 * that knows the password could add a device of its own and read everything.
 *
 *   1. New device: `createProvisioningRequest()`: an ephemeral X25519 key pair; it shows `code` and sends the
 *      public key to the account's devices (the SDK uses the device mailbox).
 *   2. Existing device: the user types or compares the code; `sealProvisioning` refuses a key whose code does not
 *      match, then encrypts the payload: ECDH with a fresh ephemeral key, HKDF, ChaCha20-Poly1305.
 *   3. New device: `openProvisioning` decrypts with its ephemeral private key.
 *
 * The code is 60 bits (12 Crockford base32 characters) of SHA-256 over the public key: a server substituting its
 * own key would have to find one with the same code, about 2^60 key generations, instead of 2^20 for a 6-digit code.
 *
 * Message: version u8 = 1 | sender ephemeral public key (32) | ciphertext of the padded JSON payload
 */
import { concatBytes, equalBytes, fromBase64, toBase64, utf8Decode, utf8Encode } from './bytes';
import { DecryptionFailed, InvalidEnvelope, InvalidSignature } from './errors';
import { deserializeIdentityKeyPair, SerializedIdentityKeyPair } from './identity';
import { pad, unpad } from './padding';
import { aeadDecrypt, aeadEncrypt, dh, generateX25519KeyPair, hkdf, KEY_LENGTH, sha256 } from './primitives';

const VERSION = 1;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** What the existing device hands over. */
export interface ProvisioningPayload {
  userId: string;
  identity: SerializedIdentityKeyPair;
  /** Identity keys (base64) of contacts this account has verified or accepted, by user id. */
  trustedIdentities?: Record<string, string>;
}

/** Kept by the new device until the answer arrives (JSON). */
export interface ProvisioningRequest {
  publicKey: string;
  privateKey: string;
}

export function createProvisioningRequest(): { request: ProvisioningRequest; publicKey: string; code: string } {
  const pair = generateX25519KeyPair();
  const publicKey = toBase64(pair.publicKey);
  return {
    request: { publicKey, privateKey: toBase64(pair.privateKey) },
    publicKey,
    code: provisioningCode(publicKey),
  };
}

/** "ABCD-EFGH-JKMN": 60 bits of SHA-256 over the public key. */
export function provisioningCode(publicKey: string): string {
  const hash = sha256(concatBytes(utf8Encode('Cyphr provisioning code v1'), fromBase64(publicKey)));
  let bits = 0n;
  for (let i = 0; i < 8; i++) bits = (bits << 8n) | BigInt(hash[i]);
  let code = '';
  for (let i = 0; i < 12; i++) code += CROCKFORD[Number((bits >> BigInt(64 - 5 * (i + 1))) & 31n)];
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
}

/** Tolerates case, spaces and dashes, and Crockford's look-alikes (O→0, I/L→1). */
export function provisioningCodeMatches(publicKey: string, entered: string): boolean {
  const norm = (s: string) =>
    utf8Encode(s.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1'));
  return equalBytes(norm(provisioningCode(publicKey)), norm(entered));
}

function keys(shared: Uint8Array, newDeviceKey: Uint8Array, ephemeral: Uint8Array) {
  const info = concatBytes(utf8Encode('Cyphr provisioning v1'), newDeviceKey, ephemeral);
  const okm = hkdf(shared, new Uint8Array(32), info, 44);
  return {
    key: okm.slice(0, 32),
    nonce: okm.slice(32),
    ad: concatBytes(new Uint8Array([VERSION]), newDeviceKey, ephemeral),
  };
}

/**
 * Existing device: encrypts the payload to the new device's key, but only if `enteredCode` (what the user confirmed)
 * matches that key; otherwise InvalidSignature. `ad` may bind the envelope header.
 */
export function sealProvisioning(params: {
  newDevicePublicKey: string;
  enteredCode: string;
  payload: ProvisioningPayload;
  ad?: Uint8Array;
}): Uint8Array {
  if (!provisioningCodeMatches(params.newDevicePublicKey, params.enteredCode)) {
    throw new InvalidSignature('verification code does not match the new device key');
  }
  const newDeviceKey = fromBase64(params.newDevicePublicKey);
  const ephemeral = generateX25519KeyPair();
  const k = keys(dh(ephemeral.privateKey, newDeviceKey), newDeviceKey, ephemeral.publicKey);
  const plaintext = pad(utf8Encode(JSON.stringify(params.payload)));
  const ad = concatBytes(k.ad, params.ad ?? new Uint8Array(0));
  return concatBytes(new Uint8Array([VERSION]), ephemeral.publicKey, aeadEncrypt(k.key, k.nonce, plaintext, ad));
}

/** New device: decrypts and checks the identity key pair is whole. Throws DecryptionFailed or InvalidEnvelope. */
export function openProvisioning(
  request: ProvisioningRequest,
  message: Uint8Array,
  ad?: Uint8Array,
): ProvisioningPayload {
  if (message.length < 1 + KEY_LENGTH + 16 || message[0] !== VERSION) {
    throw new InvalidEnvelope('not a provisioning message');
  }
  const ephemeral = message.slice(1, 1 + KEY_LENGTH);
  const newDeviceKey = fromBase64(request.publicKey);
  const k = keys(dh(fromBase64(request.privateKey), ephemeral), newDeviceKey, ephemeral);
  const plaintext = aeadDecrypt(
    k.key,
    k.nonce,
    message.slice(1 + KEY_LENGTH),
    concatBytes(k.ad, ad ?? new Uint8Array(0)),
  );
  let payload: ProvisioningPayload;
  try {
    payload = JSON.parse(utf8Decode(unpad(plaintext)));
  } catch {
    throw new DecryptionFailed('provisioning payload is not valid');
  }
  if (typeof payload?.userId !== 'string' || !payload.identity) throw new InvalidEnvelope('incomplete payload');
  deserializeIdentityKeyPair(payload.identity);
  return payload;
}
