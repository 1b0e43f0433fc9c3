/**
 * A pairwise device ↔ device session: X3DH to start, the Double Ratchet after.
 *
 * The initiator's messages are "PreKey" messages (its identity key, X3DH ephemeral key and the prekey ids it used,
 * then a ratchet message) until it has received a reply, as Signal's PreKeySignalMessage; after that they are plain
 * ratchet messages. A record keeps the current session and a few previous ones, so when both devices start a
 * session at once (each sends a PreKey message) messages under either still decrypt.
 *
 * Everything here is pure: functions take a record and return a new one; a failed decryption changes nothing.
 */
import { DeviceAddress } from './address';
import { ByteReader, concatBytes, fromBase64, toBase64, u32be } from './bytes';
import {
  CryptoError,
  DecryptionFailed,
  DuplicateMessage,
  InvalidEnvelope,
  NoSession,
  UntrustedIdentity,
} from './errors';
import { IdentityKeyPair } from './identity';
import { LastResortKeyRecord, OneTimePreKeyRecord, SignedPreKeyRecord } from './prekeys';
import {
  HEADER_LENGTH,
  initRatchetAsInitiator,
  initRatchetAsResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  RatchetLimits,
  RatchetState,
  DEFAULT_RATCHET_LIMITS,
} from './double-ratchet';
import { KEY_LENGTH } from './primitives';
import { PreKeyBundle, PreKeyIds, x3dhInitiate, x3dhRespond } from './x3dh';

/** Most superseded sessions kept per peer device (Signal keeps a few too). */
export const MAX_PREVIOUS_SESSIONS = 4;

export interface SessionState {
  ourAddress: DeviceAddress;
  theirAddress: DeviceAddress;
  ourIdentityKey: string;
  theirIdentityKey: string;
  /** X3DH associated data: both identity keys and both device addresses. */
  associatedData: string;
  /** The X3DH ephemeral key this session grew from: tells a repeated PreKey message from a new session. */
  baseKey: string;
  /** Initiator only, until the first reply: what every outgoing PreKey message carries. */
  pendingPreKey: { ephemeralKey: string; preKeyIds: PreKeyIds } | null;
  ratchet: RatchetState;
}

/** Everything we keep about one peer device: JSON, stored by the SDK as is. */
export interface SessionRecord {
  current: SessionState | null;
  previous: SessionState[];
}

export type SessionMessageType = 'prekey' | 'message';

export interface SessionMessage {
  type: SessionMessageType;
  body: Uint8Array;
}

/**
 * The device's own prekeys, implemented by the caller (the SDK's key store). Synchronous so the core stays pure;
 * an asynchronous store can load the ids `peekPreKeyMessage` names first.
 */
export interface LocalPreKeys {
  signedPreKey(keyId: number): SignedPreKeyRecord | undefined;
  lastResortKey(keyId: number): LastResortKeyRecord | undefined;
  oneTimePreKey(keyId: number): OneTimePreKeyRecord | undefined;
}

export interface IdentityPolicy {
  /** The identity key (base64) we already know for the peer's account. @default the existing session's */
  knownIdentityKey?: string;
  /** The user has accepted a changed identity key: do not throw UntrustedIdentity. @default false */
  trustNewIdentity?: boolean;
}

export function emptySessionRecord(): SessionRecord {
  return { current: null, previous: [] };
}

/**
 * The key to compare with is the caller's, else the one of the session we already have with this device: a
 * changed identity is refused by default, and only the caller can accept it.
 */
function checkIdentity(userId: string, presented: string, policy: IdentityPolicy, record?: SessionRecord): void {
  const known = policy.knownIdentityKey ?? record?.current?.theirIdentityKey;
  if (known !== undefined && known !== presented && !policy.trustNewIdentity) {
    throw new UntrustedIdentity(userId, known, presented);
  }
}

function archive(record: SessionRecord, next: SessionState): SessionRecord {
  const previous = record.current ? [record.current, ...record.previous] : record.previous;
  return { current: next, previous: previous.slice(0, MAX_PREVIOUS_SESSIONS) };
}

/** Starts a session from the peer device's bundle (X3DH initiator). Throws InvalidSignature or UntrustedIdentity. */
export function initiateSession(
  params: {
    identity: IdentityKeyPair;
    ourAddress: DeviceAddress;
    theirAddress: DeviceAddress;
    bundle: PreKeyBundle;
    record?: SessionRecord;
  } & IdentityPolicy,
): SessionRecord {
  checkIdentity(params.theirAddress.userId, params.bundle.identityKey, params, params.record);
  const x3dh = x3dhInitiate(params);
  const state: SessionState = {
    ourAddress: params.ourAddress,
    theirAddress: params.theirAddress,
    ourIdentityKey: toBase64(params.identity.publicKey),
    theirIdentityKey: params.bundle.identityKey,
    associatedData: toBase64(x3dh.associatedData),
    baseKey: toBase64(x3dh.ephemeralKey),
    pendingPreKey: { ephemeralKey: toBase64(x3dh.ephemeralKey), preKeyIds: x3dh.preKeyIds },
    ratchet: initRatchetAsInitiator(x3dh.sharedSecret, x3dh.theirSignedPreKey),
  };
  return archive(params.record ?? emptySessionRecord(), state);
}

export function hasSession(record: SessionRecord | undefined): boolean {
  return !!record?.current;
}

/**
 * Encrypts under the current session. `ad` (e.g. the envelope header) is bound into the AEAD so it cannot be
 * changed in transit. Throws NoSession without a session.
 */
export function sessionEncrypt(
  record: SessionRecord,
  plaintext: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
): { record: SessionRecord; message: SessionMessage } {
  const session = record.current;
  if (!session) throw new NoSession('no session with this device');
  const out = ratchetEncrypt(session.ratchet, plaintext, concatBytes(fromBase64(session.associatedData), ad));
  const inner = concatBytes(out.header, out.ciphertext);
  const next = { ...record, current: { ...session, ratchet: out.state } };
  if (!session.pendingPreKey) return { record: next, message: { type: 'message', body: inner } };
  const { ephemeralKey, preKeyIds } = session.pendingPreKey;
  const body = concatBytes(
    fromBase64(session.ourIdentityKey),
    fromBase64(ephemeralKey),
    u32be(preKeyIds.signedPreKeyId),
    new Uint8Array([preKeyIds.preKeyId === undefined ? 0 : preKeyIds.lastResort ? 2 : 1]),
    u32be(preKeyIds.preKeyId ?? 0),
    inner,
  );
  return { record: next, message: { type: 'prekey', body } };
}

export interface PreKeyMessageHeader {
  identityKey: string;
  ephemeralKey: string;
  preKeyIds: PreKeyIds;
  /** The ratchet message inside. */
  inner: Uint8Array;
}

/** Reads a PreKey message's header without decrypting: lets an asynchronous key store load the keys it names. */
export function peekPreKeyMessage(body: Uint8Array): PreKeyMessageHeader {
  const r = new ByteReader(body);
  const identityKey = toBase64(r.take(KEY_LENGTH));
  const ephemeralKey = toBase64(r.take(KEY_LENGTH));
  const signedPreKeyId = r.u32();
  const kind = r.u8();
  const preKeyId = r.u32();
  if (kind > 2) throw new InvalidEnvelope('unknown prekey kind');
  const inner = r.rest();
  if (inner.length < HEADER_LENGTH) throw new InvalidEnvelope('truncated ratchet message');
  return {
    identityKey,
    ephemeralKey,
    preKeyIds: { signedPreKeyId, preKeyId: kind === 0 ? undefined : preKeyId, lastResort: kind === 2 },
    inner,
  };
}

function decryptWith(session: SessionState, inner: Uint8Array, ad: Uint8Array, limits: RatchetLimits) {
  if (inner.length < HEADER_LENGTH) throw new InvalidEnvelope('truncated ratchet message');
  const out = ratchetDecrypt(
    session.ratchet,
    inner.slice(0, HEADER_LENGTH),
    inner.slice(HEADER_LENGTH),
    concatBytes(fromBase64(session.associatedData), ad),
    limits,
  );
  // A decrypted message proves the peer has the session: stop sending PreKey messages.
  return { session: { ...session, ratchet: out.state, pendingPreKey: null }, plaintext: out.plaintext };
}

/**
 * Decrypts a plain ratchet message: the current session first, then previous ones (promoted on success).
 * Throws NoSession, DuplicateMessage or DecryptionFailed.
 */
export function sessionDecrypt(
  record: SessionRecord | undefined,
  body: Uint8Array,
  ad: Uint8Array = new Uint8Array(0),
  limits: RatchetLimits = DEFAULT_RATCHET_LIMITS,
): { record: SessionRecord; plaintext: Uint8Array } {
  if (!record?.current) throw new NoSession('no session with this device');
  const candidates = [record.current, ...record.previous];
  let firstError: CryptoError | undefined;
  for (const [i, session] of candidates.entries()) {
    try {
      const out = decryptWith(session, body, ad, limits);
      const rest = candidates.filter((_, j) => j !== i);
      return {
        record: { current: out.session, previous: rest.slice(0, MAX_PREVIOUS_SESSIONS) },
        plaintext: out.plaintext,
      };
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      if (!firstError || (e instanceof DuplicateMessage && !(firstError instanceof DuplicateMessage))) firstError = e;
    }
  }
  throw firstError ?? new DecryptionFailed('no session decrypts this message');
}

/**
 * Decrypts a PreKey message: with the session it started if we already have it (a repeated PreKey message before
 * our reply), else builds the responder session from our prekeys. `usedOneTimePreKeyId` names the one-time prekey
 * consumed: the caller must delete it. Throws UntrustedIdentity, NoSession (a prekey it names is gone),
 * DuplicateMessage or DecryptionFailed.
 */
export function sessionDecryptPreKey(
  params: {
    record?: SessionRecord;
    identity: IdentityKeyPair;
    ourAddress: DeviceAddress;
    theirAddress: DeviceAddress;
    body: Uint8Array;
    ad?: Uint8Array;
    preKeys: LocalPreKeys;
    limits?: RatchetLimits;
  } & IdentityPolicy,
): { record: SessionRecord; plaintext: Uint8Array; usedOneTimePreKeyId?: number } {
  const header = peekPreKeyMessage(params.body);
  const ad = params.ad ?? new Uint8Array(0);
  const limits = params.limits ?? DEFAULT_RATCHET_LIMITS;
  const record = params.record ?? emptySessionRecord();
  checkIdentity(params.theirAddress.userId, header.identityKey, params, record);

  const existing = [record.current, ...record.previous].find(
    (s) => s && s.baseKey === header.ephemeralKey && s.theirIdentityKey === header.identityKey,
  );
  if (existing) {
    const out = decryptWith(existing, header.inner, ad, limits);
    const rest = [record.current, ...record.previous].filter((s): s is SessionState => !!s && s !== existing);
    return {
      record: { current: out.session, previous: rest.slice(0, MAX_PREVIOUS_SESSIONS) },
      plaintext: out.plaintext,
    };
  }

  const ids = header.preKeyIds;
  const signed = params.preKeys.signedPreKey(ids.signedPreKeyId);
  if (!signed) throw new NoSession(`signed prekey ${ids.signedPreKeyId} is gone`);
  let preKeyPrivate: Uint8Array | undefined;
  if (ids.preKeyId !== undefined) {
    const key = ids.lastResort
      ? params.preKeys.lastResortKey(ids.preKeyId)
      : params.preKeys.oneTimePreKey(ids.preKeyId);
    if (!key) throw new NoSession(`${ids.lastResort ? 'last-resort' : 'one-time'} prekey ${ids.preKeyId} is gone`);
    preKeyPrivate = fromBase64(key.privateKey);
  }
  const theirIdentityKey = fromBase64(header.identityKey);
  const x3dh = x3dhRespond({
    identity: params.identity,
    ourAddress: params.ourAddress,
    theirAddress: params.theirAddress,
    theirIdentityKey,
    theirEphemeralKey: fromBase64(header.ephemeralKey),
    signedPreKeyPrivate: fromBase64(signed.privateKey),
    preKeyPrivate,
  });
  const fresh: SessionState = {
    ourAddress: params.ourAddress,
    theirAddress: params.theirAddress,
    ourIdentityKey: toBase64(params.identity.publicKey),
    theirIdentityKey: header.identityKey,
    associatedData: toBase64(x3dh.associatedData),
    baseKey: header.ephemeralKey,
    pendingPreKey: null,
    ratchet: initRatchetAsResponder(x3dh.sharedSecret, fromBase64(signed.privateKey)),
  };
  const out = decryptWith(fresh, header.inner, ad, limits);
  return {
    record: archive(record, out.session),
    plaintext: out.plaintext,
    usedOneTimePreKeyId: ids.preKeyId !== undefined && !ids.lastResort ? ids.preKeyId : undefined,
  };
}
