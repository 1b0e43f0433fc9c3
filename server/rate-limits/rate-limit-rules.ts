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
  'loginUsername',
  'registerIp',
  'send',
  'keyFetch',
  'upgrade',
] as const;
export type RateLimitName = (typeof RATE_LIMIT_NAMES)[number];
export type RateLimitRules = Record<RateLimitName, RateLimitRule>;

export const DEFAULT_RATE_LIMITS: RateLimitRules = {
  /** Every request, per client address. */
  ip: { limit: 1200, windowSeconds: 60 },
  /** Every authenticated request, per user. */
  user: { limit: 600, windowSeconds: 60 },
  /** Password guessing: login attempts per client address and per target username. */
  loginIp: { limit: 30, windowSeconds: 300 },
  loginUsername: { limit: 10, windowSeconds: 300 },
  /** Account creation per client address. */
  registerIp: { limit: 20, windowSeconds: 3600 },
  /** Sends per user. */
  send: { limit: 300, windowSeconds: 60 },
  /** Key bundle fetches per user: each consumes someone's one-time prekey, so draining must be slow. */
  keyFetch: { limit: 60, windowSeconds: 60 },
  /** WebSocket upgrades per user (each also counts against `ip`): reconnect loops cost a login check each. */
  upgrade: { limit: 30, windowSeconds: 60 },
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
    } else if (!(RATE_LIMIT_NAMES as readonly string[]).includes(match[1])) {
      problems.push(`"${match[1]}" is not a rate limit (known: ${RATE_LIMIT_NAMES.join(', ')})`);
    } else if (Number(match[2]) < 1 || Number(match[3]) < 1) {
      problems.push(`"${entry}" needs a limit and a window of at least 1`);
    } else {
      rules[match[1] as RateLimitName] = { limit: Number(match[2]), windowSeconds: Number(match[3]) };
    }
  }
  if (problems.length > 0) throw new Error(`Invalid environment:\n  - RATE_LIMITS: ${problems.join('; ')}`);
  return rules;
}
