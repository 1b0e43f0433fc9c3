import { equalBytes, fromBase64, toBase64 } from './bytes';
import { InvalidSignature } from './errors';
import { deserializeIdentityKeyPair, generateIdentityKeyPair, serializeIdentityKeyPair } from './identity';
import { toOneTimePreKeyWire, toSignedPreKeyWire, verifySignedPreKey } from './prekeys';
import { bundleOf, BundleKind, makeDevice } from './test/devices';
import { x3dhInitiate, x3dhRespond } from './x3dh';

describe('identity and prekeys', () => {
  it('serializes an identity key pair and refuses mismatched halves', () => {
    const pair = generateIdentityKeyPair();
    const json = JSON.parse(JSON.stringify(serializeIdentityKeyPair(pair)));
    expect(equalBytes(deserializeIdentityKeyPair(json).privateKey, pair.privateKey)).toBe(true);
    const other = serializeIdentityKeyPair(generateIdentityKeyPair());
    expect(() => deserializeIdentityKeyPair({ ...json, publicKey: other.publicKey })).toThrow();
  });

  it('gives the API shapes and signs prekeys with the identity key', () => {
    const device = makeDevice('bob');
    const wire = toSignedPreKeyWire(device.signedPreKey);
    expect(Object.keys(wire).sort()).toEqual(['keyId', 'publicKey', 'signature']);
    expect(fromBase64(wire.publicKey)).toHaveLength(32);
    expect(Object.keys(toOneTimePreKeyWire(device.oneTimePreKeys[0])).sort()).toEqual(['keyId', 'publicKey']);
    expect(() => verifySignedPreKey(device.identity.publicKey, wire)).not.toThrow();
    expect(() => verifySignedPreKey(device.identity.publicKey, device.lastResortKey)).not.toThrow();
    expect(() => verifySignedPreKey(generateIdentityKeyPair().publicKey, wire)).toThrow(InvalidSignature);
  });
});

describe('X3DH', () => {
  const alice = makeDevice('alice', 1);
  const bob = makeDevice('bob', 7);

  function agree(kind: BundleKind) {
    const init = x3dhInitiate({
      identity: alice.identity,
      ourAddress: alice.address,
      theirAddress: bob.address,
      bundle: bundleOf(bob, kind),
    });
    const preKeyPrivate =
      kind === 'one-time'
        ? bob.oneTimePreKeys[0].privateKey
        : kind === 'last-resort'
          ? bob.lastResortKey.privateKey
          : undefined;
    const resp = x3dhRespond({
      identity: bob.identity,
      ourAddress: bob.address,
      theirAddress: alice.address,
      theirIdentityKey: alice.identity.publicKey,
      theirEphemeralKey: init.ephemeralKey,
      signedPreKeyPrivate: fromBase64(bob.signedPreKey.privateKey),
      preKeyPrivate: preKeyPrivate ? fromBase64(preKeyPrivate) : undefined,
    });
    return { init, resp };
  }

  it.each<BundleKind>(['one-time', 'last-resort', 'none'])('both sides derive the same secret (%s prekey)', (kind) => {
    const { init, resp } = agree(kind);
    expect(init.sharedSecret).toHaveLength(32);
    expect(equalBytes(init.sharedSecret, resp.sharedSecret)).toBe(true);
    expect(equalBytes(init.associatedData, resp.associatedData)).toBe(true);
    expect(init.preKeyIds.lastResort).toBe(kind === 'last-resort');
  });

  it('binds both identity keys and both device addresses into the associated data', () => {
    const { init } = agree('one-time');
    const other = x3dhInitiate({
      identity: alice.identity,
      ourAddress: { ...alice.address, deviceId: 2 },
      theirAddress: bob.address,
      bundle: bundleOf(bob),
    });
    expect(equalBytes(init.associatedData, other.associatedData)).toBe(false);
    expect(equalBytes(init.associatedData.slice(0, 32), alice.identity.publicKey)).toBe(true);
    expect(equalBytes(init.associatedData.slice(32, 64), bob.identity.publicKey)).toBe(true);
  });

  it('derives a different secret when the responder uses the wrong one-time prekey', () => {
    const init = x3dhInitiate({
      identity: alice.identity,
      ourAddress: alice.address,
      theirAddress: bob.address,
      bundle: bundleOf(bob),
    });
    const resp = x3dhRespond({
      identity: bob.identity,
      ourAddress: bob.address,
      theirAddress: alice.address,
      theirIdentityKey: alice.identity.publicKey,
      theirEphemeralKey: init.ephemeralKey,
      signedPreKeyPrivate: fromBase64(bob.signedPreKey.privateKey),
      preKeyPrivate: fromBase64(bob.oneTimePreKeys[1].privateKey),
    });
    expect(equalBytes(init.sharedSecret, resp.sharedSecret)).toBe(false);
  });

  it('refuses a forged signed-prekey signature and a forged or missing last-resort signature', () => {
    const mallory = generateIdentityKeyPair();
    const forged = makeDevice('bob', 7, mallory);
    const base = bundleOf(bob, 'last-resort');
    const run = (bundle: typeof base) => () =>
      x3dhInitiate({ identity: alice.identity, ourAddress: alice.address, theirAddress: bob.address, bundle });
    // The server swaps in a signed prekey it controls, keeping Bob's identity key.
    expect(run({ ...base, signedPreKey: { ...bundleOf(forged).signedPreKey } })).toThrow(InvalidSignature);
    expect(run({ ...base, preKey: { ...base.preKey!, publicKey: forged.lastResortKey.publicKey } })).toThrow(
      InvalidSignature,
    );
    expect(run({ ...base, preKey: { ...base.preKey!, signature: undefined } })).toThrow(InvalidSignature);
    expect(run({ ...base, identityKey: toBase64(mallory.publicKey) })).toThrow(InvalidSignature);
  });
});
