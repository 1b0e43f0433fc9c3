import { encodeMemberEntry, isNewerVersion, parseMemberEntry } from './member-entry';

describe('member cache entries', () => {
  it('round-trips members with their version, an empty list and a pending change', () => {
    expect(parseMemberEntry(encodeMemberEntry('12', ['a', 'b']))).toEqual({ version: '12', memberIds: ['a', 'b'] });
    expect(parseMemberEntry(encodeMemberEntry('3', []))).toEqual({ version: '3', memberIds: [] });
    expect(parseMemberEntry(encodeMemberEntry('4', 'pending'))).toEqual({ version: '4', pending: true });
  });

  it('treats anything else (nothing, an older release’s value) as a miss', () => {
    expect(parseMemberEntry(null)).toBeUndefined();
    expect(parseMemberEntry('a,b')).toBeUndefined();
    expect(parseMemberEntry(':a')).toBeUndefined();
  });

  it('compares bigint versions exactly, beyond what a double holds', () => {
    expect(isNewerVersion('10', '9')).toBe(true);
    expect(isNewerVersion('9', '10')).toBe(false);
    expect(isNewerVersion('9007199254740993', '9007199254740992')).toBe(true);
    expect(isNewerVersion('5', '5')).toBe(false);
  });
});
