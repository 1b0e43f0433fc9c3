import fc from 'fast-check';
import { utf8Decode, utf8Encode } from './bytes';
import { CryptoError, DecryptionFailed, DuplicateMessage, InvalidSignature, NoSenderKey } from './errors';
import {
  createSenderKey,
  decodeDistribution,
  encodeDistribution,
  groupDecrypt,
  groupEncrypt,
  OwnSenderKey,
  processDistribution,
  SenderKeyLimits,
  SenderKeyRecord,
  senderKeyDistribution,
} from './sender-keys';

const AD = utf8Encode('conversation c1, sender alice/1');
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v));

function sendMany(own: OwnSenderKey, count: number, prefix = 'm') {
  const messages: { text: string; bytes: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const out = groupEncrypt(own, utf8Encode(`${prefix}${i}`), AD);
    own = out.senderKey;
    messages.push({ text: `${prefix}${i}`, bytes: out.message });
  }
  return { own, messages };
}

describe('sender keys', () => {
  it('distribution round-trips through bytes and JSON', () => {
    const own = createSenderKey();
    const d = senderKeyDistribution(own);
    expect(decodeDistribution(encodeDistribution(d))).toEqual(d);
    expect(json(d)).toEqual(d);
  });

  it('property: any order, loss and duplication within the bound: each delivered message decrypts exactly once', () => {
    const limits: SenderKeyLimits = { maxSkip: 50, maxSkippedKeys: 50, maxKeysPerSender: 5 };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40, size: 'max' }),
        (count, picks) => {
          const own = createSenderKey();
          let record: SenderKeyRecord = processDistribution(undefined, senderKeyDistribution(own));
          const { messages } = sendMany(own, count);
          const seen = new Set<number>();
          for (const pick of picks) {
            const i = pick % count;
            const before = JSON.stringify(record);
            try {
              const out = groupDecrypt(record, messages[i].bytes, AD, limits);
              expect(seen.has(i)).toBe(false);
              expect(utf8Decode(out.plaintext)).toBe(messages[i].text);
              seen.add(i);
              record = json(out.record);
            } catch (e) {
              expect(e).toBeInstanceOf(DuplicateMessage);
              expect(seen.has(i)).toBe(true);
              expect(JSON.stringify(record)).toBe(before);
            }
            expect(record.keys[0].skipped.length).toBeLessThanOrEqual(limits.maxSkippedKeys);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('beyond the skip bound a message fails cleanly; the skipped store is bounded', () => {
    const limits: SenderKeyLimits = { maxSkip: 5, maxSkippedKeys: 3, maxKeysPerSender: 5 };
    const own = createSenderKey();
    const record = processDistribution(undefined, senderKeyDistribution(own));
    const { messages } = sendMany(own, 8);
    expect(() => groupDecrypt(record, messages[7].bytes, AD, limits)).toThrow(DecryptionFailed);
    const out = groupDecrypt(record, messages[5].bytes, AD, limits);
    expect(out.record.keys[0].skipped.map((s) => s.iteration)).toEqual([2, 3, 4]);
    expect(() => groupDecrypt(out.record, messages[0].bytes, AD, limits)).toThrow(DuplicateMessage);
  });

  it('rejects a bad signature, another member forging with the shared chain key, and changed associated data', () => {
    const own = createSenderKey();
    const record = processDistribution(undefined, senderKeyDistribution(own));
    const { messages } = sendMany(own, 1);
    const tampered = messages[0].bytes.slice();
    tampered[12] ^= 1;
    expect(() => groupDecrypt(record, tampered, AD)).toThrow(InvalidSignature);
    // A member knows the chain key but not the signing key: it can encrypt, not sign as the sender.
    const forger = { ...createSenderKey(), keyId: own.keyId, chainKey: own.chainKey };
    expect(() => groupDecrypt(record, groupEncrypt(forger, utf8Encode('fake'), AD).message, AD)).toThrow(
      InvalidSignature,
    );
    expect(() => groupDecrypt(record, messages[0].bytes, utf8Encode('conversation c2'))).toThrow(InvalidSignature);
  });

  it('rotation: a member without the new key cannot read what follows; one with it reads both', () => {
    const first = createSenderKey();
    const removed = processDistribution(undefined, senderKeyDistribution(first));
    let kept = processDistribution(undefined, senderKeyDistribution(first));
    const before = sendMany(first, 2);
    const second = createSenderKey();
    expect(second.keyId).not.toBe(first.keyId);
    kept = processDistribution(kept, senderKeyDistribution(second));
    const after = sendMany(second, 1, 'after');
    expect(() => groupDecrypt(removed, after.messages[0].bytes, AD)).toThrow(NoSenderKey);
    expect(utf8Decode(groupDecrypt(kept, after.messages[0].bytes, AD).plaintext)).toBe('after0');
    // A late message under the old key still reads.
    expect(utf8Decode(groupDecrypt(kept, before.messages[1].bytes, AD).plaintext)).toBe('m1');
    expect(() => groupDecrypt(undefined, after.messages[0].bytes, AD)).toThrow(NoSenderKey);
  });

  it('a member added later reads from the distribution point on, and a replayed distribution does not rewind', () => {
    const own = createSenderKey();
    const early = sendMany(own, 3);
    let record = processDistribution(undefined, senderKeyDistribution(early.own));
    expect(() => groupDecrypt(record, early.messages[0].bytes, AD)).toThrow(DuplicateMessage);
    const later = sendMany(early.own, 1, 'late');
    record = groupDecrypt(record, later.messages[0].bytes, AD).record;
    record = processDistribution(record, senderKeyDistribution(early.own));
    expect(() => groupDecrypt(record, later.messages[0].bytes, AD)).toThrow(DuplicateMessage);
  });

  it('every failure is a typed error', () => {
    const own = createSenderKey();
    const record = processDistribution(undefined, senderKeyDistribution(own));
    for (const bytes of [new Uint8Array(3), new Uint8Array(80)]) {
      let error: unknown;
      try {
        groupDecrypt(record, bytes, AD);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CryptoError);
    }
  });
});
