/**
 * The versioned binary envelope the API carries (base64 in JSON). Its header (everything before the body) is the
 * associated data of the encryption inside (AEAD and, for group messages, the sender's signature), so the server
 * cannot move an envelope to another device or conversation, or change who it claims is the sender.
 *
 *   version u8 = 1 | type u8 | sender userId (u8 length + UTF-8) | sender deviceId u32
 *   | pairwise, prekey, provisioning: recipient userId (u8 length + UTF-8) | recipient deviceId u32
 *   | group: conversationId (u8 length + UTF-8)
 *   | body (the rest)
 *
 * Plaintext is padded before encryption (see padding.ts).
 */
import { DeviceAddress, sameAddress } from './address';
import { ByteReader, concatBytes, lengthPrefixed, u32be } from './bytes';
import { InvalidEnvelope, NoSession } from './errors';
import { pad, unpad } from './padding';
import { openProvisioning, ProvisioningPayload, ProvisioningRequest, sealProvisioning } from './provisioning';
import { IdentityKeyPair } from './identity';
import { RatchetLimits } from './double-ratchet';
import { groupDecrypt, groupEncrypt, OwnSenderKey, SenderKeyLimits, SenderKeyRecord } from './sender-keys';
import {
  IdentityPolicy,
  LocalPreKeys,
  SessionRecord,
  sessionDecrypt,
  sessionDecryptPreKey,
  sessionEncrypt,
} from './session';

export const ENVELOPE_VERSION = 1;

export const EnvelopeType = { PreKey: 1, Pairwise: 2, Group: 3, Provisioning: 4 } as const;
export type EnvelopeType = (typeof EnvelopeType)[keyof typeof EnvelopeType];

export interface EnvelopeHeader {
  type: EnvelopeType;
  sender: DeviceAddress;
  /** Pairwise, PreKey and provisioning envelopes. */
  recipient?: DeviceAddress;
  /** Group envelopes. */
  conversationId?: string;
}

export interface Envelope extends EnvelopeHeader {
  version: number;
  body: Uint8Array;
  /** The encoded header: the associated data the body was encrypted under. */
  header: Uint8Array;
}

export function encodeEnvelopeHeader(h: EnvelopeHeader): Uint8Array {
  const parts = [new Uint8Array([ENVELOPE_VERSION, h.type]), lengthPrefixed(h.sender.userId), u32be(h.sender.deviceId)];
  if (h.type === EnvelopeType.Group) {
    if (h.conversationId === undefined) throw new InvalidEnvelope('group envelope needs a conversation id');
    parts.push(lengthPrefixed(h.conversationId));
  } else {
    if (!h.recipient) throw new InvalidEnvelope('pairwise envelope needs a recipient');
    parts.push(lengthPrefixed(h.recipient.userId), u32be(h.recipient.deviceId));
  }
  return concatBytes(...parts);
}

/** Parses without decrypting, so the SDK can find the sender's session. Unknown versions and types are refused. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== ENVELOPE_VERSION) throw new InvalidEnvelope(`unknown envelope version ${version}`);
  const type = r.u8();
  if (type < 1 || type > 4) throw new InvalidEnvelope(`unknown envelope type ${type}`);
  const sender = { userId: r.shortString(), deviceId: r.u32() };
  const out: Omit<Envelope, 'body' | 'header'> =
    type === EnvelopeType.Group
      ? { version, type, sender, conversationId: r.shortString() }
      : { version, type: type as EnvelopeType, sender, recipient: { userId: r.shortString(), deviceId: r.u32() } };
  const header = bytes.slice(0, r.position);
  const body = r.rest();
  if (body.length === 0) throw new InvalidEnvelope('empty envelope body');
  return { ...out, header, body };
}

export function encodeEnvelope(header: EnvelopeHeader, body: Uint8Array): Uint8Array {
  return concatBytes(encodeEnvelopeHeader(header), body);
}

/** Pads, encrypts under the current session and wraps; a PreKey envelope until the peer has replied. */
export function sealPairwise(
  record: SessionRecord,
  plaintext: Uint8Array,
): { record: SessionRecord; envelope: Uint8Array } {
  const session = record.current;
  if (!session) throw new NoSession('no session with this device');
  const header: EnvelopeHeader = {
    type: session.pendingPreKey ? EnvelopeType.PreKey : EnvelopeType.Pairwise,
    sender: session.ourAddress,
    recipient: session.theirAddress,
  };
  const headerBytes = encodeEnvelopeHeader(header);
  const out = sessionEncrypt(record, pad(plaintext), headerBytes);
  return { record: out.record, envelope: concatBytes(headerBytes, out.message.body) };
}

/**
 * Opens a pairwise or PreKey envelope addressed to `self` from the device `record` is about. Throws InvalidEnvelope
 * when it is addressed to another device (misrouted) or is malformed, plus the session errors.
 */
export function openPairwise(
  params: {
    envelope: Uint8Array;
    self: DeviceAddress;
    identity: IdentityKeyPair;
    record?: SessionRecord;
    preKeys: LocalPreKeys;
    limits?: RatchetLimits;
  } & IdentityPolicy,
): { record: SessionRecord; plaintext: Uint8Array; sender: DeviceAddress; usedOneTimePreKeyId?: number } {
  const env = decodeEnvelope(params.envelope);
  if (env.type !== EnvelopeType.PreKey && env.type !== EnvelopeType.Pairwise) {
    throw new InvalidEnvelope('not a pairwise envelope');
  }
  if (!sameAddress(env.recipient!, params.self)) throw new InvalidEnvelope('envelope addressed to another device');
  const current = params.record?.current;
  if (current && !sameAddress(current.theirAddress, env.sender)) {
    throw new InvalidEnvelope('session record is for another device');
  }
  if (env.type === EnvelopeType.Pairwise) {
    const out = sessionDecrypt(params.record, env.body, env.header, params.limits);
    return { record: out.record, plaintext: unpad(out.plaintext), sender: env.sender };
  }
  const out = sessionDecryptPreKey({
    ...params,
    ourAddress: params.self,
    theirAddress: env.sender,
    body: env.body,
    ad: env.header,
  });
  return {
    record: out.record,
    plaintext: unpad(out.plaintext),
    sender: env.sender,
    usedOneTimePreKeyId: out.usedOneTimePreKeyId,
  };
}

export function sealGroup(params: {
  senderKey: OwnSenderKey;
  sender: DeviceAddress;
  conversationId: string;
  plaintext: Uint8Array;
}): { senderKey: OwnSenderKey; envelope: Uint8Array } {
  const header = encodeEnvelopeHeader({
    type: EnvelopeType.Group,
    sender: params.sender,
    conversationId: params.conversationId,
  });
  const out = groupEncrypt(params.senderKey, pad(params.plaintext), header);
  return { senderKey: out.senderKey, envelope: concatBytes(header, out.message) };
}

/**
 * Opens a group envelope that the server delivered for `conversationId`. Throws InvalidEnvelope when it names
 * another conversation; a rewritten header fails the sender's signature (InvalidSignature).
 */
export function openGroup(params: {
  envelope: Uint8Array;
  conversationId: string;
  /** The sender device's sender keys in this conversation (find them by `decodeEnvelope(...).sender`). */
  record: SenderKeyRecord | undefined;
  limits?: SenderKeyLimits;
}): { record: SenderKeyRecord; plaintext: Uint8Array; sender: DeviceAddress } {
  const env = decodeEnvelope(params.envelope);
  if (env.type !== EnvelopeType.Group) throw new InvalidEnvelope('not a group envelope');
  if (env.conversationId !== params.conversationId) throw new InvalidEnvelope('envelope is for another conversation');
  const out = groupDecrypt(params.record, env.body, env.header, params.limits);
  return { record: out.record, plaintext: unpad(out.plaintext), sender: env.sender };
}

/** Existing device → new device of the same account: see provisioning.ts. The header is bound as associated data. */
export function sealProvisioningEnvelope(params: {
  sender: DeviceAddress;
  recipient: DeviceAddress;
  newDevicePublicKey: string;
  enteredCode: string;
  payload: ProvisioningPayload;
}): Uint8Array {
  const header = encodeEnvelopeHeader({
    type: EnvelopeType.Provisioning,
    sender: params.sender,
    recipient: params.recipient,
  });
  return concatBytes(header, sealProvisioning({ ...params, ad: header }));
}

export function openProvisioningEnvelope(params: {
  envelope: Uint8Array;
  self: DeviceAddress;
  request: ProvisioningRequest;
}): { payload: ProvisioningPayload; sender: DeviceAddress } {
  const env = decodeEnvelope(params.envelope);
  if (env.type !== EnvelopeType.Provisioning) throw new InvalidEnvelope('not a provisioning envelope');
  if (!sameAddress(env.recipient!, params.self)) throw new InvalidEnvelope('envelope addressed to another device');
  if (env.sender.userId !== params.self.userId) throw new InvalidEnvelope('provisioning from another account');
  return { payload: openProvisioning(params.request, env.body, env.header), sender: env.sender };
}
