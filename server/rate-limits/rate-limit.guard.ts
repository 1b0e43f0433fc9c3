import { ExecutionContext, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RateLimitName } from './rate-limit-rules';
import type { RateLimitHit } from './rate-limiter.service';

const RATE_LIMITS = 'cyphr:rate-limits';

/**
 * Extra limits for a route, on top of the per-address and per-user ones every request counts against.
 * `...Ip` rules count per client address (before authentication), the rest per user (after it).
 */
export const RateLimit = (...rules: RateLimitName[]) => SetMetadata(RATE_LIMITS, rules);

const isAddressRule = (rule: RateLimitName) => rule.endsWith('Ip');

/** The counters one request takes: per client address (IPv6 per /64) always, per user once it is authenticated. */
export interface RequestRateLimits {
  byAddress(address: string): RateLimitHit[];
  byUser(userId: string): RateLimitHit[];
}

/** `ip` and the route's address rules; `user` and the route's other rules. Applied by AuthGuard. */
export function requestRateLimits(reflector: Reflector, context: ExecutionContext): RequestRateLimits {
  const rules =
    reflector.getAllAndOverride<RateLimitName[]>(RATE_LIMITS, [context.getHandler(), context.getClass()]) ?? [];
  const addressRules: RateLimitName[] = ['ip', ...rules.filter(isAddressRule)];
  const userRules: RateLimitName[] = ['user', ...rules.filter((rule) => !isAddressRule(rule))];
  return {
    byAddress: (subject) => addressRules.map((rule) => ({ rule, subject })),
    byUser: (subject) => userRules.map((rule) => ({ rule, subject })),
  };
}
