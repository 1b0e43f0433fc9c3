/**
 * The Double Ratchet (https://signal.org/docs/specifications/doubleratchet/), header in the clear and authenticated.
 *
 *   KDF_RK(rk, dh) = HKDF(ikm = dh, salt = rk, info = "Cyphr ratchet v1") → 32-byte root key || 32-byte chain key
 *   KDF_CK(ck)     = HMAC(ck, 0x01) → message key, HMAC(ck, 0x02) → next chain key (as libsignal)
 *
 * Functions are pure: they take a state and return a new one, never mutating their input, so a message that fails
 * (tampered, forged, replayed) leaves the caller's state exactly as it was.
 *
 * Bounds against a hostile sender: a header may skip at most `maxSkip` keys in one chain step, the store of skipped
 * keys holds at most `maxSkippedKeys` (oldest evicted first), and at most `maxOldChains` finished receiving chains
 * are remembered (to tell a duplicate from a forgery).
 */
import { concatBytes, equalBytes, fromBase64, readU32be, toBase64, u32be } from './bytes';
import { DecryptionFailed, DuplicateMessage, NoSession } from './errors';
import {
  dh,
  generateX25519KeyPair,
  hkdf,
  hmacSha256,
  KEY_LENGTH,
  KeyPair,
  openWithMessageKey,
  sealWithMessageKey,
  x25519PublicKey,
} from './primitives';

export interface RatchetLimits {
  /** Most message keys one header may make us skip (derive and store) in one chain. */
  maxSkip: number;
  /** Most skipped message keys kept across all chains; the oldest are evicted first. */
  maxSkippedKeys: number;
  /** Most finished receiving chains remembered, so a late duplicate is reported as DuplicateMessage. */
  maxOldChains: number;
}

export const DEFAULT_RATCHET_LIMITS: RatchetLimits = { maxSkip: 1000, maxSkippedKeys: 2000, maxOldChains: 5 };

export const HEADER_LENGTH = KEY_LENGTH + 8;

interface Chain {
  key: string;
  /** Number of message keys already taken from this chain (the next message number). */
  n: number;
}

interface SkippedKey {
  ratchetKey: string;
  n: number;
  messageKey: string;
}

/** JSON-serializable state of one ratchet. Treat as opaque: only this module reads it. */
export interface RatchetState {
  rootKey: string;
  dhSelf: { publicKey: string; privateKey: string };
  dhRemote: string | null;
  sendChain: Chain | null;
  recvChain: Chain | null;
  /** PN: length of our previous sending chain. */
  previousSendCount: number;
  skipped: SkippedKey[];
  oldChains: { ratchetKey: string; n: number }[];
}

export interface RatchetHeader {
  ratchetKey: Uint8Array;
  previousCount: number;
  n: number;
}

export function encodeHeader(header: RatchetHeader): Uint8Array {
  return concatBytes(header.ratchetKey, u32be(header.previousCount), u32be(header.n));
}

export function decodeHeader(bytes: Uint8Array): RatchetHeader {
  if (bytes.length !== HEADER_LENGTH) throw new DecryptionFailed('ratchet header must be 40 bytes');
  return {
    ratchetKey: bytes.slice(0, KEY_LENGTH),
    previousCount: readU32be(bytes, KEY_LENGTH),
    n: readU32be(bytes, KEY_LENGTH + 4),
  };
}

function kdfRk(rootKey: Uint8Array, dhOut: Uint8Array): { rootKey: string; chainKey: string } {
  const okm = hkdf(dhOut, rootKey, 'Cyphr ratchet v1', 64);
  return { rootKey: toBase64(okm.slice(0, 32)), chainKey: toBase64(okm.slice(32)) };
}

function kdfCk(chain: Chain): { messageKey: Uint8Array; next: Chain } {
  const ck = fromBase64(chain.key);
  return {
    messageKey: hmacSha256(ck, new Uint8Array([1])),
    next: { key: toBase64(hmacSha256(ck, new Uint8Array([2]))), n: chain.n + 1 },
  };
}

function serializePair(pair: KeyPair) {
  return { publicKey: toBase64(pair.publicKey), privateKey: toBase64(pair.privateKey) };
}

/** The initiator (Alice) after X3DH: the responder's signed prekey is its first ratchet key. */
export function initRatchetAsInitiator(sharedSecret: Uint8Array, theirRatchetKey: Uint8Array): RatchetState {
  const dhSelf = generateX25519KeyPair();
  const { rootKey, chainKey } = kdfRk(sharedSecret, dh(dhSelf.privateKey, theirRatchetKey));
  return {
    rootKey,
    dhSelf: serializePair(dhSelf),
    dhRemote: toBase64(theirRatchetKey),
    sendChain: { key: chainKey, n: 0 },
    recvChain: null,
    previousSendCount: 0,
    skipped: [],
    oldChains: [],
  };
}

/** The responder (Bob): its signed prekey pair is its first ratchet key pair; it can send once it has received. */
export function initRatchetAsResponder(sharedSecret: Uint8Array, ourRatchetPrivateKey: Uint8Array): RatchetState {
  return {
    rootKey: toBase64(sharedSecret),
    dhSelf: serializePair({ privateKey: ourRatchetPrivateKey, publicKey: x25519PublicKey(ourRatchetPrivateKey) }),
    dhRemote: null,
    sendChain: null,
    recvChain: null,
    previousSendCount: 0,
    skipped: [],
    oldChains: [],
  };
}

export function canSend(state: RatchetState): boolean {
  return state.sendChain !== null;
}

/** Encrypts one message. `ad` is the session's associated data; the header is bound to it too. */
export function ratchetEncrypt(
  state: RatchetState,
  plaintext: Uint8Array,
  ad: Uint8Array,
): { state: RatchetState; header: Uint8Array; ciphertext: Uint8Array } {
  if (!state.sendChain) throw new NoSession('this side cannot send before it has received a message');
  if (state.sendChain.n >= 0xffffffff) throw new NoSession('sending chain exhausted');
  const { messageKey, next } = kdfCk(state.sendChain);
  const header = encodeHeader({
    ratchetKey: fromBase64(state.dhSelf.publicKey),
    previousCount: state.previousSendCount,
    n: state.sendChain.n,
  });
  const ciphertext = sealWithMessageKey(messageKey, 'ratchet', plaintext, concatBytes(ad, header));
  return { state: { ...state, sendChain: next }, header, ciphertext };
}

/**
 * Decrypts one message. Throws DuplicateMessage when its key was already used (or evicted), DecryptionFailed when
 * it does not authenticate or would skip more than `limits.maxSkip` keys; the input state is never changed.
 */
export function ratchetDecrypt(
  state: RatchetState,
  headerBytes: Uint8Array,
  ciphertext: Uint8Array,
  ad: Uint8Array,
  limits: RatchetLimits = DEFAULT_RATCHET_LIMITS,
): { state: RatchetState; plaintext: Uint8Array } {
  const header = decodeHeader(headerBytes);
  const fullAd = concatBytes(ad, headerBytes);
  const ratchetKey = toBase64(header.ratchetKey);

  const skippedIndex = state.skipped.findIndex((s) => s.ratchetKey === ratchetKey && s.n === header.n);
  if (skippedIndex >= 0) {
    const messageKey = fromBase64(state.skipped[skippedIndex].messageKey);
    const plaintext = openWithMessageKey(messageKey, 'ratchet', ciphertext, fullAd);
    return { state: { ...state, skipped: state.skipped.filter((_, i) => i !== skippedIndex) }, plaintext };
  }

  let next: RatchetState = state;
  if (state.dhRemote !== null && equalBytes(fromBase64(state.dhRemote), header.ratchetKey)) {
    // The initiator's first remote key (the peer's signed prekey) never sends: no receiving chain to use.
    if (!state.recvChain) throw new DecryptionFailed('no receiving chain for this ratchet key');
    if (header.n < state.recvChain.n) throw new DuplicateMessage('message key already used');
  } else if (state.oldChains.some((c) => c.ratchetKey === ratchetKey)) {
    throw new DuplicateMessage('message key of a finished chain already used');
  } else {
    next = dhRatchet(skipMessageKeys(state, header.previousCount, limits), header.ratchetKey, limits);
  }
  next = skipMessageKeys(next, header.n, limits);
  const { messageKey, next: recvChain } = kdfCk(next.recvChain!);
  const plaintext = openWithMessageKey(messageKey, 'ratchet', ciphertext, fullAd);
  return { state: { ...next, recvChain }, plaintext };
}

/** Derives and stores the keys of the current receiving chain up to (not including) message `until`. */
function skipMessageKeys(state: RatchetState, until: number, limits: RatchetLimits): RatchetState {
  if (!state.recvChain || state.dhRemote === null) return state;
  if (until - state.recvChain.n > limits.maxSkip) {
    throw new DecryptionFailed(`message would skip more than ${limits.maxSkip} keys`);
  }
  let chain = state.recvChain;
  const added: SkippedKey[] = [];
  while (chain.n < until) {
    const { messageKey, next } = kdfCk(chain);
    added.push({ ratchetKey: state.dhRemote, n: chain.n, messageKey: toBase64(messageKey) });
    chain = next;
  }
  if (added.length === 0) return state;
  const skipped = [...state.skipped, ...added];
  return { ...state, recvChain: chain, skipped: skipped.slice(Math.max(0, skipped.length - limits.maxSkippedKeys)) };
}

/** A new ratchet key from the peer: finish the receiving chain, derive new receiving and sending chains. */
function dhRatchet(state: RatchetState, theirRatchetKey: Uint8Array, limits: RatchetLimits): RatchetState {
  const oldChains =
    state.dhRemote !== null && state.recvChain
      ? [...state.oldChains, { ratchetKey: state.dhRemote, n: state.recvChain.n }].slice(-limits.maxOldChains)
      : state.oldChains;
  const recv = kdfRk(fromBase64(state.rootKey), dh(fromBase64(state.dhSelf.privateKey), theirRatchetKey));
  const dhSelf = generateX25519KeyPair();
  const send = kdfRk(fromBase64(recv.rootKey), dh(dhSelf.privateKey, theirRatchetKey));
  return {
    ...state,
    rootKey: send.rootKey,
    dhSelf: serializePair(dhSelf),
    dhRemote: toBase64(theirRatchetKey),
    recvChain: { key: recv.chainKey, n: 0 },
    sendChain: { key: send.chainKey, n: 0 },
    previousSendCount: state.sendChain?.n ?? 0,
    oldChains,
  };
}
