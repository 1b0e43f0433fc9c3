import { equalBytes, fromBase64, toBase64, utf8Decode, utf8Encode } from './bytes';
import { DecryptionFailed, InvalidEnvelope, InvalidSignature } from './errors';
import {
  decodeEnvelope,
  encodeEnvelope,
  EnvelopeType,
  openGroup,
  openPairwise,
  sealGroup,
  sealPairwise,
  openProvisioningEnvelope,
  sealProvisioningEnvelope,
} from './envelope';
import { pad, PADDING_BLOCK, unpad } from './padding';
import { createProvisioningRequest } from './provisioning';
import { generateIdentityKeyPair, serializeIdentityKeyPair } from './identity';
import { createSenderKey, processDistribution, senderKeyDistribution } from './sender-keys';
import { initiateSession } from './session';
import { bundleOf, makeDevice } from './test/devices';

describe('envelope', () => {
  const alice = makeDevice('alice-uuid', 1);
  const bob = makeDevice('bob-uuid', 2);
  const bobOther = makeDevice('bob-uuid', 3, bob.identity);

  function firstEnvelope(text = 'hello') {
    const record = initiateSession({
      identity: alice.identity,
      ourAddress: alice.address,
      theirAddress: bob.address,
      bundle: bundleOf(bob),
    });
    return sealPairwise(record, utf8Encode(text));
  }

  const openAtBob = (envelope: Uint8Array, self = bob) =>
    openPairwise({ envelope, self: self.address, identity: self.identity, preKeys: self.preKeys });

  it('round-trips a pairwise conversation, PreKey envelope first, with sender and recipient in the header', () => {
    const first = firstEnvelope();
    const parsed = decodeEnvelope(first.envelope);
    expect(parsed).toMatchObject({
      version: 1,
      type: EnvelopeType.PreKey,
      sender: alice.address,
      recipient: bob.address,
    });
    const atBob = openAtBob(first.envelope);
    expect(utf8Decode(atBob.plaintext)).toBe('hello');
    expect(atBob.sender).toEqual(alice.address);
    const reply = sealPairwise(atBob.record, utf8Encode('hi alice'));
    expect(decodeEnvelope(reply.envelope).type).toBe(EnvelopeType.Pairwise);
    const atAlice = openPairwise({
      envelope: reply.envelope,
      self: alice.address,
      identity: alice.identity,
      record: first.record,
      preKeys: alice.preKeys,
    });
    expect(utf8Decode(atAlice.plaintext)).toBe('hi alice');
    // Base64 for the API, and back.
    expect(equalBytes(fromBase64(toBase64(reply.envelope)), reply.envelope)).toBe(true);
  });

  it('pads to multiples of 160 bytes so lengths fall in buckets', () => {
    for (const [len, padded] of [
      [0, 160],
      [1, 160],
      [159, 160],
      [160, 320],
      [500, 640],
    ]) {
      const p = pad(new Uint8Array(len).fill(0));
      expect(p.length).toBe(padded);
      expect(unpad(p).length).toBe(len);
    }
    expect(() => unpad(new Uint8Array(PADDING_BLOCK))).toThrow(InvalidEnvelope);
    expect(() => unpad(new Uint8Array(10).fill(0x80))).toThrow(InvalidEnvelope);
    // Two different short texts give envelopes of the same size.
    expect(firstEnvelope('ok').envelope.length).toBe(firstEnvelope('a longer message, still short').envelope.length);
  });

  it('rejects an envelope moved to another device of the recipient, or with a rewritten header', () => {
    const first = firstEnvelope();
    // Delivered as is to Bob's other device: addressed elsewhere.
    expect(() => openAtBob(first.envelope, bobOther)).toThrow(InvalidEnvelope);
    // The server also rewrites the recipient: the header is associated data, so decryption fails.
    const env = decodeEnvelope(first.envelope);
    const moved = encodeEnvelope({ type: env.type, sender: env.sender, recipient: bobOther.address }, env.body);
    expect(() => openAtBob(moved, bobOther)).toThrow(DecryptionFailed);
    // Or claims another sender device.
    const spoofed = encodeEnvelope(
      { type: env.type, sender: { ...alice.address, deviceId: 9 }, recipient: bob.address },
      env.body,
    );
    expect(() => openAtBob(spoofed)).toThrow(DecryptionFailed);
  });

  it('rejects unknown versions and types, truncation and garbage', () => {
    const { envelope } = firstEnvelope();
    const v2 = envelope.slice();
    v2[0] = 2;
    expect(() => decodeEnvelope(v2)).toThrow(InvalidEnvelope);
    const t9 = envelope.slice();
    t9[1] = 9;
    expect(() => decodeEnvelope(t9)).toThrow(InvalidEnvelope);
    expect(() => decodeEnvelope(envelope.slice(0, 10))).toThrow(InvalidEnvelope);
    expect(() => openAtBob(new Uint8Array([1, 2, 200]))).toThrow(InvalidEnvelope);
  });

  it('group: round trip; another conversation or a rewritten header is rejected', () => {
    const own = createSenderKey();
    const record = processDistribution(undefined, senderKeyDistribution(own));
    const sealed = sealGroup({
      senderKey: own,
      sender: alice.address,
      conversationId: 'c1',
      plaintext: utf8Encode('hey'),
    });
    expect(decodeEnvelope(sealed.envelope)).toMatchObject({ type: EnvelopeType.Group, conversationId: 'c1' });
    const opened = openGroup({ envelope: sealed.envelope, conversationId: 'c1', record });
    expect(utf8Decode(opened.plaintext)).toBe('hey');
    expect(opened.sender).toEqual(alice.address);
    expect(() => openGroup({ envelope: sealed.envelope, conversationId: 'c2', record })).toThrow(InvalidEnvelope);
    const env = decodeEnvelope(sealed.envelope);
    const moved = encodeEnvelope({ type: EnvelopeType.Group, sender: env.sender, conversationId: 'c2' }, env.body);
    expect(() => openGroup({ envelope: moved, conversationId: 'c2', record })).toThrow(InvalidSignature);
    expect(() => openGroup({ envelope: sealed.envelope, conversationId: 'c1', record: undefined })).toThrow();
  });

  it('provisioning: round trip to the new device; another device or a rewritten header is rejected', () => {
    const newDevice = { userId: 'alice-uuid', deviceId: 5 };
    const { request, publicKey, code } = createProvisioningRequest();
    const payload = { userId: 'alice-uuid', identity: serializeIdentityKeyPair(generateIdentityKeyPair()) };
    const envelope = sealProvisioningEnvelope({
      sender: alice.address,
      recipient: newDevice,
      newDevicePublicKey: publicKey,
      enteredCode: code,
      payload,
    });
    expect(openProvisioningEnvelope({ envelope, self: newDevice, request })).toEqual({
      payload,
      sender: alice.address,
    });
    expect(() => openProvisioningEnvelope({ envelope, self: { ...newDevice, deviceId: 6 }, request })).toThrow(
      InvalidEnvelope,
    );
    const env = decodeEnvelope(envelope);
    const moved = encodeEnvelope(
      { type: env.type, sender: env.sender, recipient: { ...newDevice, deviceId: 6 } },
      env.body,
    );
    expect(() => openProvisioningEnvelope({ envelope: moved, self: { ...newDevice, deviceId: 6 }, request })).toThrow(
      DecryptionFailed,
    );
  });
});
