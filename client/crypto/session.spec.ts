import { toBase64, utf8Decode, utf8Encode } from './bytes';
import { DecryptionFailed, DuplicateMessage, InvalidSignature, NoSession, UntrustedIdentity } from './errors';
import { generateIdentityKeyPair } from './identity';
import {
  initiateSession,
  peekPreKeyMessage,
  SessionMessage,
  SessionRecord,
  sessionDecrypt,
  sessionDecryptPreKey,
  sessionEncrypt,
} from './session';
import { bundleOf, makeDevice, TestDevice } from './test/devices';

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v));

function start(alice: TestDevice, bob: TestDevice, kind: 'one-time' | 'last-resort' | 'none' = 'one-time') {
  return initiateSession({
    identity: alice.identity,
    ourAddress: alice.address,
    theirAddress: bob.address,
    bundle: bundleOf(bob, kind),
  });
}

function receive(bob: TestDevice, from: TestDevice, message: SessionMessage, record?: SessionRecord, known?: string) {
  if (message.type === 'message') {
    const out = sessionDecrypt(record, message.body);
    return { ...out, usedOneTimePreKeyId: undefined };
  }
  return sessionDecryptPreKey({
    record,
    identity: bob.identity,
    ourAddress: bob.address,
    theirAddress: from.address,
    body: message.body,
    preKeys: bob.preKeys,
    knownIdentityKey: known,
  });
}

describe('pairwise sessions', () => {
  const alice = makeDevice('alice', 1);
  const bob = makeDevice('bob', 3);

  it('sends PreKey messages until the first reply, then plain messages; reports the one-time prekey used', () => {
    let a = start(alice, bob);
    const m1 = sessionEncrypt(a, utf8Encode('one'));
    const m2 = sessionEncrypt(m1.record, utf8Encode('two'));
    a = json(m2.record);
    expect([m1.message.type, m2.message.type]).toEqual(['prekey', 'prekey']);
    expect(peekPreKeyMessage(m1.message.body).preKeyIds).toEqual({
      signedPreKeyId: 1,
      preKeyId: bob.oneTimePreKeys[0].keyId,
      lastResort: false,
    });

    const r1 = receive(bob, alice, m1.message);
    expect(utf8Decode(r1.plaintext)).toBe('one');
    expect(r1.usedOneTimePreKeyId).toBe(bob.oneTimePreKeys[0].keyId);
    // The second PreKey message is for the same session: no new session, no prekey consumed again.
    const r2 = receive(bob, alice, m2.message, json(r1.record));
    expect(utf8Decode(r2.plaintext)).toBe('two');
    expect(r2.usedOneTimePreKeyId).toBeUndefined();
    expect(r2.record.previous).toHaveLength(0);

    const reply = sessionEncrypt(json(r2.record), utf8Encode('reply'));
    expect(reply.message.type).toBe('message');
    const got = receive(alice, bob, reply.message, a);
    expect(utf8Decode(got.plaintext)).toBe('reply');
    const after = sessionEncrypt(got.record, utf8Encode('three'));
    expect(after.message.type).toBe('message');
    expect(utf8Decode(receive(bob, alice, after.message, reply.record).plaintext)).toBe('three');
  });

  it.each(['last-resort', 'none'] as const)('works with a %s prekey and consumes no one-time prekey', (kind) => {
    const m = sessionEncrypt(start(alice, bob, kind), utf8Encode('hi'));
    const r = receive(bob, alice, m.message);
    expect(utf8Decode(r.plaintext)).toBe('hi');
    expect(r.usedOneTimePreKeyId).toBeUndefined();
  });

  it('refuses a bundle with a forged signed prekey', () => {
    const bundle = bundleOf(bob);
    const forged = { ...bundle, signedPreKey: bundleOf(makeDevice('bob', 3)).signedPreKey };
    expect(() =>
      initiateSession({
        identity: alice.identity,
        ourAddress: alice.address,
        theirAddress: bob.address,
        bundle: forged,
      }),
    ).toThrow(InvalidSignature);
  });

  it('reports a changed identity key as UntrustedIdentity (both keys) unless told to trust it', () => {
    const reinstalled = makeDevice('bob', 3, generateIdentityKeyPair());
    const known = toBase64(bob.identity.publicKey);
    const params = {
      identity: alice.identity,
      ourAddress: alice.address,
      theirAddress: bob.address,
      bundle: bundleOf(reinstalled),
      knownIdentityKey: known,
    };
    let error: unknown;
    try {
      initiateSession(params);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UntrustedIdentity);
    expect(error).toMatchObject({
      code: 'UNTRUSTED_IDENTITY',
      userId: 'bob',
      knownIdentityKey: known,
      newIdentityKey: toBase64(reinstalled.identity.publicKey),
    });
    expect(() => initiateSession({ ...params, trustNewIdentity: true })).not.toThrow();

    // The receiving side too: a PreKey message from an account whose key changed.
    const mallory = makeDevice('alice', 1, generateIdentityKeyPair());
    const m = sessionEncrypt(start(mallory, bob), utf8Encode('x'));
    expect(() => receive(bob, alice, m.message, undefined, toBase64(alice.identity.publicKey))).toThrow(
      UntrustedIdentity,
    );
  });

  it('refuses by default a PreKey message that changes the identity key of a device we have a session with', () => {
    const m = sessionEncrypt(start(alice, bob), utf8Encode('hi'));
    const r = receive(bob, alice, m.message);
    const reinstalled = makeDevice('alice', 1, generateIdentityKeyPair());
    const again = sessionEncrypt(start(reinstalled, bob), utf8Encode('new phone'));
    expect(() => receive(bob, alice, again.message, r.record)).toThrow(UntrustedIdentity);
    const accepted = sessionDecryptPreKey({
      record: r.record,
      identity: bob.identity,
      ourAddress: bob.address,
      theirAddress: alice.address,
      body: again.message.body,
      preKeys: bob.preKeys,
      trustNewIdentity: true,
    });
    expect(utf8Decode(accepted.plaintext)).toBe('new phone');
  });

  it('rejects tampered PreKey and plain messages, duplicates, and messages without a session', () => {
    const m = sessionEncrypt(start(alice, bob), utf8Encode('hi'));
    for (const at of [40, 70, m.message.body.length - 1]) {
      const body = m.message.body.slice();
      body[at] ^= 1;
      expect(() => receive(bob, alice, { type: 'prekey', body })).toThrow();
    }
    const r = receive(bob, alice, m.message);
    expect(() => receive(bob, alice, m.message, r.record)).toThrow(DuplicateMessage);

    const reply = sessionEncrypt(r.record, utf8Encode('reply'));
    const bad = reply.message.body.slice();
    bad[bad.length - 1] ^= 1;
    expect(() => sessionDecrypt(m.record, bad)).toThrow(DecryptionFailed);
    expect(() => sessionDecrypt(undefined, reply.message.body)).toThrow(NoSession);
    // Bound associated data (e.g. the envelope header) must match.
    expect(() => sessionDecrypt(m.record, reply.message.body, utf8Encode('moved'))).toThrow(DecryptionFailed);
  });

  it('a one-time prekey that is gone fails as NoSession', () => {
    const m = sessionEncrypt(start(alice, bob), utf8Encode('hi'));
    const params = {
      identity: bob.identity,
      ourAddress: bob.address,
      theirAddress: alice.address,
      body: m.message.body,
      preKeys: { ...bob.preKeys, oneTimePreKey: () => undefined },
    };
    expect(() => sessionDecryptPreKey(params)).toThrow(NoSession);
  });

  it('both devices starting at once: messages under either session still decrypt', () => {
    const fromAlice = sessionEncrypt(start(alice, bob), utf8Encode('a1'));
    const fromBob = sessionEncrypt(start(bob, alice), utf8Encode('b1'));
    const atBob = receive(bob, alice, fromAlice.message, fromBob.record);
    const atAlice = receive(alice, bob, fromBob.message, fromAlice.record);
    expect(utf8Decode(atBob.plaintext)).toBe('a1');
    expect(utf8Decode(atAlice.plaintext)).toBe('b1');
    // Each now sends under the session it received last; the other still holds it among its previous ones.
    const a2 = sessionEncrypt(atAlice.record, utf8Encode('a2'));
    const b2 = sessionEncrypt(atBob.record, utf8Encode('b2'));
    expect(utf8Decode(receive(bob, alice, a2.message, atBob.record).plaintext)).toBe('a2');
    expect(utf8Decode(receive(alice, bob, b2.message, atAlice.record).plaintext)).toBe('b2');
  });
});
