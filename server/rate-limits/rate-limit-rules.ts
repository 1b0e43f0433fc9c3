/**
 * The one registry of rate limits (as Signal's RateLimiters): every limit the API enforces, by name.
 * Counters live in Redis (fixed windows), so a limit holds across every instance behind the ALB.
 */
export interface RateLimitRule {
  /** Requests allowed per window. */
  limit: number;
  windowSeconds: number;
}

export const RATE_LIMIT_NAMES = ['ip', 'user', 'loginIp', 'loginUsername', 'registerIp', 'send', 'keyFetch'] as const;
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
};
