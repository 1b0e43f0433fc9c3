/**
 * Sender keys for group messages, as libsignal's group cipher: per (conversation, sending device) a sender key is a
 * random chain key, an Ed25519 signing key pair and a random key id. Message keys come from an HMAC chain
 *
 *   seed_i = HMAC(ck_i, 0x01)     ck_{i+1} = HMAC(ck_i, 0x02)
 *
 * and each message is signed, so members who all hold the chain key still cannot forge each other's messages. The
 * distribution message (key id, iteration, chain key, signing public key) travels pairwise to every member device,
 * inside the Double Ratchet sessions. Rotation is simply a new sender key (new id): whoever does not receive it
 * cannot read what follows.
 *
 * Wire format of a group message: version (1) | keyId (u32) | iteration (u32) | AEAD ciphertext | signature (64)
 * The signature covers everything before it plus the caller's associated data (the envelope header).
 */
import { ByteReader, concatBytes, fromBase64, toBase64, u32be } from './bytes';
import { DecryptionFailed, DuplicateMessage, InvalidEnvelope, InvalidSignature, NoSenderKey } from './errors';
import {
  generateEd25519KeyPair,
  hmacSha256,
  KEY_LENGTH,
  openWithMessageKey,
  randomBytes,
  sealWithMessageKey,
  sign,
  SIGNATURE_LENGTH,
  verify,
} from './primitives';

const VERSION = 1;
const HEADER_LENGTH = 9;
const DISTRIBUTION_LENGTH = 1 + 4 + 4 + KEY_LENGTH + KEY_LENGTH;

export interface SenderKeyLimits {
  /** Most iterations one message may move a sender's chain forward. */
  maxSkip: number;
  /** Most skipped message keys kept per sender key; the oldest are evicted first. */
  maxSkippedKeys: number;
  /** Most sender keys kept per sender (the newest), so late messages under a rotated key still read. */
  maxKeysPerSender: number;
}

export const DEFAULT_SENDER_KEY_LIMITS: SenderKeyLimits = { maxSkip: 2000, maxSkippedKeys: 2000, maxKeysPerSender: 5 };

/** Our own sender key for one conversation (JSON). The signing private key never leaves this device. */
export interface OwnSenderKey {
  keyId: number;
  iteration: number;
  chainKey: string;
  signingPublicKey: string;
  signingPrivateKey: string;
}

/** What every member device receives (pairwise) to read our group messages. */
export interface SenderKeyDistribution {
  keyId: number;
  iteration: number;
  chainKey: string;
  signingPublicKey: string;
}

interface ReceivedSenderKey extends SenderKeyDistribution {
  skipped: { iteration: number; messageKey: string }[];
}

/** One sender device's keys in one conversation, newest first (JSON). */
export interface SenderKeyRecord {
  keys: ReceivedSenderKey[];
}

export function createSenderKey(): OwnSenderKey {
  const signing = generateEd25519KeyPair();
  const id = randomBytes(4);
  return {
    keyId: ((id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3]) & 0x7fffffff,
    iteration: 0,
    chainKey: toBase64(randomBytes(32)),
    signingPublicKey: toBase64(signing.publicKey),
    signingPrivateKey: toBase64(signing.privateKey),
  };
}

/** From the current iteration: a member added now reads from here on, not what was sent before. */
export function senderKeyDistribution(own: OwnSenderKey): SenderKeyDistribution {
  return { keyId: own.keyId, iteration: own.iteration, chainKey: own.chainKey, signingPublicKey: own.signingPublicKey };
}

export function encodeDistribution(d: SenderKeyDistribution): Uint8Array {
  return concatBytes(
    new Uint8Array([VERSION]),
    u32be(d.keyId),
    u32be(d.iteration),
    fromBase64(d.chainKey),
    fromBase64(d.signingPublicKey),
  );
}

export function decodeDistribution(bytes: Uint8Array): SenderKeyDistribution {
  if (bytes.length !== DISTRIBUTION_LENGTH) throw new InvalidEnvelope('sender key distribution has the wrong length');
  const r = new ByteReader(bytes);
  if (r.u8() !== VERSION) throw new InvalidEnvelope('unknown sender key distribution version');
  return {
    keyId: r.u32(),
    iteration: r.u32(),
    chainKey: toBase64(r.take(KEY_LENGTH)),
    signingPublicKey: toBase64(r.take(KEY_LENGTH)),
  };
}

/**
 * Stores a sender's distributed key. A key id we already hold is kept as it is: a replayed distribution must not
 * rewind the chain (that would let old messages decrypt again).
 */
export function processDistribution(
  record: SenderKeyRecord | undefined,
  distribution: SenderKeyDistribution,
  limits: SenderKeyLimits = DEFAULT_SENDER_KEY_LIMITS,
): SenderKeyRecord {
  if (
    fromBase64(distribution.chainKey).length !== KEY_LENGTH ||
    fromBase64(distribution.signingPublicKey).length !== KEY_LENGTH
  ) {
    throw new InvalidEnvelope('sender key distribution keys must be 32 bytes');
  }
  const keys = record?.keys ?? [];
  if (keys.some((k) => k.keyId === distribution.keyId)) return { keys };
  return { keys: [{ ...distribution, skipped: [] }, ...keys].slice(0, limits.maxKeysPerSender) };
}

function step(chainKey: string): { messageKey: Uint8Array; next: string } {
  const ck = fromBase64(chainKey);
  return { messageKey: hmacSha256(ck, new Uint8Array([1])), next: toBase64(hmacSha256(ck, new Uint8Array([2]))) };
}

export function groupEncrypt(
  own: OwnSenderKey,
  plaintext: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
): { senderKey: OwnSenderKey; message: Uint8Array } {
  if (own.iteration >= 0xffffffff) throw new NoSenderKey('sender key exhausted: rotate');
  const { messageKey, next } = step(own.chainKey);
  const header = concatBytes(new Uint8Array([VERSION]), u32be(own.keyId), u32be(own.iteration));
  const ciphertext = sealWithMessageKey(messageKey, 'group', plaintext, concatBytes(ad, header));
  const signed = concatBytes(header, ciphertext);
  const signature = sign(fromBase64(own.signingPrivateKey), concatBytes(signed, ad));
  return {
    senderKey: { ...own, iteration: own.iteration + 1, chainKey: next },
    message: concatBytes(signed, signature),
  };
}

/** The key id a group message names: lets the SDK tell "no key yet" from other failures before decrypting. */
export function groupMessageKeyId(message: Uint8Array): number {
  if (message.length < HEADER_LENGTH + SIGNATURE_LENGTH) throw new InvalidEnvelope('group message too short');
  return new ByteReader(message.slice(1, 5)).u32();
}

/**
 * Verifies and decrypts. Throws NoSenderKey (key id unknown), InvalidSignature, DuplicateMessage (key already used
 * or evicted), DecryptionFailed (too far ahead, or does not authenticate). The input record is never changed.
 */
export function groupDecrypt(
  record: SenderKeyRecord | undefined,
  message: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
  limits: SenderKeyLimits = DEFAULT_SENDER_KEY_LIMITS,
): { record: SenderKeyRecord; plaintext: Uint8Array } {
  const keyId = groupMessageKeyId(message);
  const r = new ByteReader(message);
  if (r.u8() !== VERSION) throw new InvalidEnvelope('unknown group message version');
  r.u32();
  const iteration = r.u32();
  const signed = message.slice(0, message.length - SIGNATURE_LENGTH);
  const signature = message.slice(message.length - SIGNATURE_LENGTH);
  const ciphertext = signed.slice(HEADER_LENGTH);

  const index = record?.keys.findIndex((k) => k.keyId === keyId) ?? -1;
  if (!record || index < 0) throw new NoSenderKey(`no sender key ${keyId} for this sender`);
  const key = record.keys[index];
  if (!verify(fromBase64(key.signingPublicKey), concatBytes(signed, ad), signature)) {
    throw new InvalidSignature('group message signature does not verify');
  }

  const { messageKey, updated } = messageKeyFor(key, iteration, limits);
  const plaintext = openWithMessageKey(
    messageKey,
    'group',
    ciphertext,
    concatBytes(ad, signed.slice(0, HEADER_LENGTH)),
  );
  return { record: { keys: record.keys.map((k, i) => (i === index ? updated : k)) }, plaintext };
}

function messageKeyFor(key: ReceivedSenderKey, iteration: number, limits: SenderKeyLimits) {
  if (iteration < key.iteration) {
    const found = key.skipped.find((s) => s.iteration === iteration);
    if (!found) throw new DuplicateMessage('group message key already used');
    return {
      messageKey: fromBase64(found.messageKey),
      updated: { ...key, skipped: key.skipped.filter((s) => s !== found) },
    };
  }
  if (iteration - key.iteration > limits.maxSkip) {
    throw new DecryptionFailed(`group message is more than ${limits.maxSkip} iterations ahead`);
  }
  let chainKey = key.chainKey;
  const skipped = [...key.skipped];
  for (let i = key.iteration; i < iteration; i++) {
    const s = step(chainKey);
    skipped.push({ iteration: i, messageKey: toBase64(s.messageKey) });
    chainKey = s.next;
  }
  const current = step(chainKey);
  return {
    messageKey: current.messageKey,
    updated: {
      ...key,
      iteration: iteration + 1,
      chainKey: current.next,
      skipped: skipped.slice(Math.max(0, skipped.length - limits.maxSkippedKeys)),
    },
  };
}
