import fc from 'fast-check';
import { utf8Decode, utf8Encode } from './bytes';
import { CryptoError, DecryptionFailed, DuplicateMessage, NoSession } from './errors';
import {
  canSend,
  DEFAULT_RATCHET_LIMITS,
  initRatchetAsInitiator,
  initRatchetAsResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  RatchetLimits,
  RatchetState,
} from './double-ratchet';
import { generateX25519KeyPair, randomBytes } from './primitives';

const AD = utf8Encode('associated data');

type Party = 'a' | 'b';
interface Wire {
  id: number;
  to: Party;
  header: Uint8Array;
  ciphertext: Uint8Array;
  plaintext: string;
}

/** Two ratchets after X3DH: Alice (initiator) and Bob (responder, whose signed prekey is his first ratchet key). */
function pair(): Record<Party, RatchetState> {
  const sk = randomBytes(32);
  const bobKey = generateX25519KeyPair();
  return { a: initRatchetAsInitiator(sk, bobKey.publicKey), b: initRatchetAsResponder(sk, bobKey.privateKey) };
}

/** States are JSON: every step goes through a serialization round trip, as the SDK's store would do. */
const viaJson = (s: RatchetState): RatchetState => JSON.parse(JSON.stringify(s));

type Op = { kind: 'send'; from: Party } | { kind: 'deliver'; pick: number } | { kind: 'redeliver'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), from: fc.constantFrom<Party>('a', 'b') }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redeliver' as const), pick: fc.nat() }) },
);

/** Schedules long enough to cross several DH ratchet steps. */
const schedule = (maxLength: number) => fc.array(opArb, { minLength: maxLength / 2, maxLength, size: 'max' });

/**
 * Runs a schedule: sends append to the in-flight pool; deliver takes any in-flight message (reordering); what is
 * never delivered is lost; redeliver replays an already delivered one (duplicate). Returns what happened.
 */
function run(ops: Op[], limits: RatchetLimits) {
  const states = pair();
  const inFlight: Wire[] = [];
  const delivered: Wire[] = [];
  let nextId = 0;
  const outcomes: { wire: Wire; result: string | CryptoError; duplicate: boolean }[] = [];
  let maxStored = 0;
  for (const op of ops) {
    if (op.kind === 'send') {
      if (!canSend(states[op.from])) continue;
      const plaintext = `m${nextId} from ${op.from}`;
      const out = ratchetEncrypt(states[op.from], utf8Encode(plaintext), AD);
      states[op.from] = viaJson(out.state);
      inFlight.push({ id: nextId++, to: op.from === 'a' ? 'b' : 'a', plaintext, ...out });
      continue;
    }
    const pool = op.kind === 'deliver' ? inFlight : delivered;
    if (pool.length === 0) continue;
    const wire = op.kind === 'deliver' ? inFlight.splice(op.pick % inFlight.length, 1)[0] : pool[op.pick % pool.length];
    if (op.kind === 'deliver') delivered.push(wire);
    const before = JSON.stringify(states[wire.to]);
    try {
      const out = ratchetDecrypt(states[wire.to], wire.header, wire.ciphertext, AD, limits);
      states[wire.to] = viaJson(out.state);
      outcomes.push({ wire, result: utf8Decode(out.plaintext), duplicate: op.kind === 'redeliver' });
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      // A failure must leave the state untouched.
      expect(JSON.stringify(states[wire.to])).toBe(before);
      outcomes.push({ wire, result: e, duplicate: op.kind === 'redeliver' });
    }
    maxStored = Math.max(maxStored, states.a.skipped.length, states.b.skipped.length);
  }
  return { outcomes, maxStored };
}

describe('Double Ratchet', () => {
  it('for any interleaving, reordering, loss and duplication within the bounds: each delivered message decrypts exactly once', () => {
    fc.assert(
      fc.property(schedule(60), (ops) => {
        const { outcomes, maxStored } = run(ops, DEFAULT_RATCHET_LIMITS);
        const decrypted = new Set<number>();
        for (const { wire, result, duplicate } of outcomes) {
          if (duplicate) {
            expect(result).toBeInstanceOf(DuplicateMessage);
          } else {
            expect(result).toBe(wire.plaintext);
            expect(decrypted.has(wire.id)).toBe(false);
            decrypted.add(wire.id);
          }
        }
        expect(maxStored).toBeLessThanOrEqual(DEFAULT_RATCHET_LIMITS.maxSkippedKeys);
      }),
      { numRuns: 60 },
    );
  });

  it('with tight bounds: the skipped-key store stays bounded and nothing decrypts wrongly or twice', () => {
    const limits: RatchetLimits = { maxSkip: 5, maxSkippedKeys: 8, maxOldChains: 2 };
    fc.assert(
      fc.property(schedule(80), (ops) => {
        const { outcomes, maxStored } = run(ops, limits);
        const decrypted = new Set<number>();
        for (const { wire, result } of outcomes) {
          if (typeof result === 'string') {
            expect(result).toBe(wire.plaintext);
            expect(decrypted.has(wire.id)).toBe(false);
            decrypted.add(wire.id);
          } else {
            expect(result instanceof DuplicateMessage || result instanceof DecryptionFailed).toBe(true);
          }
        }
        expect(maxStored).toBeLessThanOrEqual(limits.maxSkippedKeys);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a message that would skip more than maxSkip keys, cleanly, and still reads the rest', () => {
    const limits: RatchetLimits = { maxSkip: 10, maxSkippedKeys: 20, maxOldChains: 2 };
    let { a, b } = pair();
    const sent: { header: Uint8Array; ciphertext: Uint8Array }[] = [];
    for (let i = 0; i < 12; i++) {
      const out = ratchetEncrypt(a, utf8Encode(`m${i}`), AD);
      a = out.state;
      sent.push(out);
    }
    expect(() => ratchetDecrypt(b, sent[11].header, sent[11].ciphertext, AD, limits)).toThrow(DecryptionFailed);
    const first = ratchetDecrypt(b, sent[0].header, sent[0].ciphertext, AD, limits);
    b = first.state;
    expect(utf8Decode(first.plaintext)).toBe('m0');
    expect(utf8Decode(ratchetDecrypt(b, sent[11].header, sent[11].ciphertext, AD, limits).plaintext)).toBe('m11');
  });

  it('evicts the oldest skipped keys first', () => {
    const limits: RatchetLimits = { maxSkip: 10, maxSkippedKeys: 3, maxOldChains: 2 };
    let { a, b } = pair();
    const sent: { header: Uint8Array; ciphertext: Uint8Array }[] = [];
    for (let i = 0; i < 6; i++) {
      const out = ratchetEncrypt(a, utf8Encode(`m${i}`), AD);
      a = out.state;
      sent.push(out);
    }
    b = ratchetDecrypt(b, sent[5].header, sent[5].ciphertext, AD, limits).state;
    expect(b.skipped.map((s) => s.n)).toEqual([2, 3, 4]);
    expect(() => ratchetDecrypt(b, sent[0].header, sent[0].ciphertext, AD, limits)).toThrow(DuplicateMessage);
    expect(utf8Decode(ratchetDecrypt(b, sent[2].header, sent[2].ciphertext, AD, limits).plaintext)).toBe('m2');
  });

  it('rejects a tampered header, ciphertext or associated data without changing state', () => {
    const { a, b } = pair();
    const out = ratchetEncrypt(a, utf8Encode('hi'), AD);
    const header = out.header.slice();
    header[39] ^= 1;
    const ct = out.ciphertext.slice();
    ct[0] ^= 1;
    expect(() => ratchetDecrypt(b, header, out.ciphertext, AD)).toThrow(DecryptionFailed);
    expect(() => ratchetDecrypt(b, out.header, ct, AD)).toThrow(DecryptionFailed);
    expect(() => ratchetDecrypt(b, out.header, out.ciphertext, utf8Encode('other'))).toThrow(DecryptionFailed);
    expect(utf8Decode(ratchetDecrypt(b, out.header, out.ciphertext, AD).plaintext)).toBe('hi');
  });

  it("a forged message under the initiator's first remote key fails cleanly", () => {
    const { a, b } = pair();
    const bobState = { ...b, sendChain: { key: b.rootKey, n: 0 } };
    const forged = ratchetEncrypt(bobState, utf8Encode('x'), AD);
    expect(() => ratchetDecrypt(a, forged.header, forged.ciphertext, AD)).toThrow(DecryptionFailed);
  });

  it('the responder cannot send before it has received', () => {
    const { b } = pair();
    expect(() => ratchetEncrypt(b, utf8Encode('x'), AD)).toThrow(NoSession);
  });
});
