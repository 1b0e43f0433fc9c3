/**
 * The one registry of rate limits (as Signal's RateLimiters): every limit the API enforces, by name.
 * Counters live in Redis (fixed windows), so a limit holds across every instance behind the ALB.
 */
export interface RateLimitRule {
  /** Requests allowed per window. */
  limit: number;
  windowSeconds: number;
}

export const RATE_LIMIT_NAMES = [
  'ip',
  'user',
  'loginIp',
  'loginFailures',
  'loginUsernameFailures',
  'loginFailuresUnderAttack',
  'registerIp',
  'refreshIp',
  'passwordChange',
  'identityKeyChange',
  'send',
  'deviceMessages',
  'acks',
  'keyFetch',
  'keyFetchPair',
  'keyFetchTarget',
  'upgrade',
] as const;
export type RateLimitName = (typeof RATE_LIMIT_NAMES)[number];
export type RateLimitRules = Record<RateLimitName, RateLimitRule>;

export const DEFAULT_RATE_LIMITS: RateLimitRules = {
  /**
   * Every request, per client address (IPv6 per /64), counted before authentication: requests with a bad
   * or missing token count too.
   */
  ip: { limit: 1200, windowSeconds: 60 },
  /** Every authenticated request, per user. */
  user: { limit: 600, windowSeconds: 60 },
  /** Login attempts per client address, whatever the username (one address guessing many accounts). */
  loginIp: { limit: 30, windowSeconds: 300 },
  /**
   * Failed logins per (username, client address). Only failures count, and only that client is refused:
   * a stranger guessing cannot lock the owner out, who logs in from another address.
   */
  loginFailures: { limit: 10, windowSeconds: 900 },
  /**
   * Failed logins per username from all addresses. Over it the account is under a distributed attack, and
   * each (username, client address) is held to `loginFailuresUnderAttack` instead: this slows the attack
   * (K addresses get 3·K guesses per 15 min rather than 10·K) and locks nobody out, since a client with
   * fewer failures than that still gets to try, and the right password always goes through.
   */
  loginUsernameFailures: { limit: 100, windowSeconds: 900 },
  loginFailuresUnderAttack: { limit: 3, windowSeconds: 900 },
  /** Account creation per client address. */
  registerIp: { limit: 20, windowSeconds: 3600 },
  /**
   * Refresh-token trades per client address: a token cannot be guessed (256 random bits), so this only keeps a
   * broken client's loop off the primary (each trade is a row lock and a write).
   */
  refreshIp: { limit: 120, windowSeconds: 300 },
  /** Password changes per user (each checks the current password: a stolen token must not guess it fast). */
  passwordChange: { limit: 5, windowSeconds: 900 },
  /** Wrong passwords given to replace the identity key, per session (a right one is not counted). */
  identityKeyChange: { limit: 5, windowSeconds: 900 },
  /** Sends per user. */
  send: { limit: 300, windowSeconds: 60 },
  /**
   * Device-to-device messages per user, counted per message (a request of 1,000 counts 1,000). Sender keys go to
   * every device of a conversation when a member or device changes: a user in many large groups rotating after
   * removing a device sends a few thousand at once, which fits; a client flooding mailboxes does not.
   */
  deviceMessages: { limit: 10_000, windowSeconds: 60 },
  /**
   * Acknowledged ids per user (socket frames and HTTP alike): each round is a DELETE on the primary and receipt work,
   * so a client streaming random ids must not hold the instance's database connections.
   */
  acks: { limit: 20_000, windowSeconds: 60 },
  /** Key bundle fetches per requesting user. */
  keyFetch: { limit: 60, windowSeconds: 60 },
  /** Key bundle fetches per (requester, target): one requester cannot drain one target's one-time prekeys. */
  keyFetchPair: { limit: 5, windowSeconds: 3600 },
  /**
   * One-time prekeys handed out per target, from all requesters. Over it the bundle carries the target's
   * last-resort key instead (still a working session, no one-time key consumed): many accounts together
   * cannot drain a target, and cannot stop others from starting sessions with it either.
   */
  keyFetchTarget: { limit: 100, windowSeconds: 3600 },
  /** WebSocket upgrades per user (each also counts against `ip`): reconnect loops cost a login check each. */
  upgrade: { limit: 30, windowSeconds: 60 },
};

/** Names a RATE_LIMITS value may still use from before a rule was renamed. */
const RENAMED: Record<string, RateLimitName> = {
  // Was: login attempts per username (counted before the password check, so strangers could lock users out).
  loginUsername: 'loginFailures',
};

/**
 * Operators tune limits without a release through RATE_LIMITS, e.g. `registerIp=200/3600,send=600/60`
 * (name=limit/windowSeconds, comma-separated; unnamed limits keep their defaults). A clinic behind one
 * NAT registering its staff, or a load test from one address, needs this.
 */
export function withRateLimitOverrides(
  spec: string | undefined,
  base: RateLimitRules = DEFAULT_RATE_LIMITS,
): RateLimitRules {
  const rules = { ...base };
  const problems: string[] = [];
  for (const entry of (spec ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z]+)=(\d+)\/(\d+)$/.exec(entry);
    if (!match) {
      problems.push(`"${entry}" is not name=limit/windowSeconds`);
      continue;
    }
    const name = RENAMED[match[1]] ?? match[1];
    if (!(RATE_LIMIT_NAMES as readonly string[]).includes(name)) {
      problems.push(`"${match[1]}" is not a rate limit (known: ${RATE_LIMIT_NAMES.join(', ')})`);
    } else if (Number(match[2]) < 1 || Number(match[3]) < 1) {
      problems.push(`"${entry}" needs a limit and a window of at least 1`);
    } else {
      rules[name as RateLimitName] = { limit: Number(match[2]), windowSeconds: Number(match[3]) };
    }
  }
  if (problems.length > 0) throw new Error(`Invalid environment:\n  - RATE_LIMITS: ${problems.join('; ')}`);
  return rules;
}
