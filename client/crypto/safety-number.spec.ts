import { generateIdentityKeyPair } from './identity';
import { formatSafetyNumber, safetyNumber, safetyNumbersMatch } from './safety-number';

describe('safety numbers', () => {
  const alice = { userId: 'alice', identityKey: generateIdentityKeyPair().publicKey };
  const bob = { userId: 'bob', identityKey: generateIdentityKeyPair().publicKey };

  it('is 60 digits and the same on both sides', () => {
    const n = safetyNumber(alice, bob);
    expect(n).toMatch(/^\d{60}$/);
    expect(safetyNumber(bob, alice)).toBe(n);
    expect(safetyNumbersMatch(formatSafetyNumber(n), n)).toBe(true);
    expect(formatSafetyNumber(n).split(' ')).toHaveLength(12);
  });

  it('changes when either identity key or user id changes', () => {
    const n = safetyNumber(alice, bob);
    const reinstalled = { ...bob, identityKey: generateIdentityKeyPair().publicKey };
    expect(safetyNumbersMatch(safetyNumber(alice, reinstalled), n)).toBe(false);
    expect(safetyNumber({ ...alice, identityKey: reinstalled.identityKey }, bob)).not.toBe(n);
    expect(safetyNumber({ ...alice, userId: 'alice2' }, bob)).not.toBe(n);
    // Only the changed side's half differs.
    const halves = (s: string) => [s.slice(0, 30), s.slice(30)];
    const shared = halves(n).filter((h) => halves(safetyNumber(alice, reinstalled)).includes(h));
    expect(shared).toHaveLength(1);
  });
});
