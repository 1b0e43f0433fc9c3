import fc from 'fast-check';
import { utf8Encode } from './bytes';
import { CryptoError } from './errors';
import { openGroup, openPairwise, sealGroup, sealPairwise } from './envelope';
import { createSenderKey, processDistribution, senderKeyDistribution } from './sender-keys';
import { initiateSession } from './session';
import { bundleOf, makeDevice } from './test/devices';

/** Whatever the server or network does to an envelope, opening it fails with a typed error, never anything else. */
describe('hostile input', () => {
  const alice = makeDevice('alice', 1);
  const bob = makeDevice('bob', 2);
  const first = sealPairwise(
    initiateSession({
      identity: alice.identity,
      ourAddress: alice.address,
      theirAddress: bob.address,
      bundle: bundleOf(bob),
    }),
    utf8Encode('hello'),
  );
  const own = createSenderKey();
  const group = sealGroup({ senderKey: own, sender: alice.address, conversationId: 'c', plaintext: utf8Encode('hi') });
  const senderKeys = processDistribution(undefined, senderKeyDistribution(own));

  const mutation = (length: number) =>
    fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat({ max: length - 1 }),
        bit: fc.integer({ min: 0, max: 7 }),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: length - 1 }) }),
      fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
    );

  function apply(bytes: Uint8Array, m: { kind: string; at?: number; bit?: number; bytes?: Uint8Array }) {
    if (m.kind === 'random') return m.bytes!;
    if (m.kind === 'truncate') return bytes.slice(0, m.at);
    const out = bytes.slice();
    out[m.at!] ^= 1 << m.bit!;
    return out;
  }

  function expectTypedFailure(open: () => unknown) {
    try {
      open();
    } catch (e) {
      expect(e).toBeInstanceOf(CryptoError);
      return;
    }
    throw new Error('a mutated envelope opened');
  }

  it('mutated PreKey envelopes', () => {
    fc.assert(
      fc.property(mutation(first.envelope.length), (m) => {
        const envelope = apply(first.envelope, m);
        expectTypedFailure(() =>
          openPairwise({ envelope, self: bob.address, identity: bob.identity, preKeys: bob.preKeys }),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('mutated group envelopes', () => {
    fc.assert(
      fc.property(mutation(group.envelope.length), (m) => {
        const envelope = apply(group.envelope, m);
        expectTypedFailure(() => openGroup({ envelope, conversationId: 'c', record: senderKeys }));
      }),
      { numRuns: 60 },
    );
  });
});
