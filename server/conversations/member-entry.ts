/**
 * The cached member list of a conversation (`members:{id}`, a string): `<membershipVersion>:<id>,<id>,...`, or
 * `<membershipVersion>:?` while a change to that version is being committed (readers treat it as a miss).
 * The version is conversations.membership_version, a bigint, kept as its decimal text.
 */
export type MemberEntry = { version: string; memberIds: string[] } | { version: string; pending: true };

const PENDING = '?';
const ENTRY = /^([0-9]+):(.*)$/s;

export function encodeMemberEntry(version: string, memberIds: string[] | 'pending'): string {
  return `${version}:${memberIds === 'pending' ? PENDING : memberIds.join(',')}`;
}

/** undefined for anything that is not an entry (a value written by an older release): a miss. */
export function parseMemberEntry(text: string | null): MemberEntry | undefined {
  const match = text === null ? null : ENTRY.exec(text);
  if (!match) return undefined;
  const [, version, rest] = match;
  if (rest === PENDING) return { version, pending: true };
  return { version, memberIds: rest === '' ? [] : rest.split(',') };
}

/** a > b for non-negative decimal integers without leading zeros (bigints: exact, unlike Lua's doubles). */
export function isNewerVersion(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

/**
 * Compare-and-set: writes ARGV[2] (an entry of version ARGV[1]) with a TTL of ARGV[3] seconds unless the key holds
 * an entry of a higher version. Anything else there (nothing, an older or equal version, a value of an older
 * release, even another type) is replaced. The version comparison is isNewerVersion's, on text.
 */
export const OFFER_MEMBERS_SCRIPT = `
local function newer(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
if redis.call('TYPE', KEYS[1])['ok'] == 'string' then
  local stored = string.match(redis.call('GET', KEYS[1]), '^(%d+):')
  if stored and newer(stored, ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
`;
