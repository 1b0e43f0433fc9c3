import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest } from '../http/http-types';
import { clientAddressKey } from './client-address';
import { RateLimitName } from './rate-limit-rules';
import { RateLimiter } from './rate-limiter.service';

const RATE_LIMITS = 'cyphr:rate-limits';

/**
 * Extra limits for a route, on top of the per-address and per-user ones every request counts against.
 * `...Ip` rules count per client address (before authentication), the rest per user (after it).
 */
export const RateLimit = (...rules: RateLimitName[]) => SetMetadata(RATE_LIMITS, rules);

const isAddressRule = (rule: RateLimitName) => rule.endsWith('Ip');

function routeRules(reflector: Reflector, context: ExecutionContext): RateLimitName[] {
  return reflector.getAllAndOverride<RateLimitName[]>(RATE_LIMITS, [context.getHandler(), context.getClass()]) ?? [];
}

/**
 * Registered BEFORE AuthGuard: counts every request per client address (IPv6 per /64), so requests that
 * end in 401 (a missing, forged or revoked token) are counted and limited like any other.
 * A RateLimitedException becomes 429 with Retry-After in AllExceptionsFilter.
 */
@Injectable()
export class ClientRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const address = clientAddressKey(context.switchToHttp().getRequest<HttpRequest>().ip);
    const rules: RateLimitName[] = ['ip', ...routeRules(this.reflector, context).filter(isAddressRule)];
    for (const rule of rules) await this.limiter.consume(rule, address);
    return true;
  }
}

/** Registered AFTER AuthGuard, so the user is known: the per-user limits. */
@Injectable()
export class UserRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const user = context.switchToHttp().getRequest<HttpRequest>().user;
    if (!user) return true;
    const rules: RateLimitName[] = [
      'user',
      ...routeRules(this.reflector, context).filter((rule) => !isAddressRule(rule)),
    ];
    for (const rule of rules) await this.limiter.consume(rule, user.id);
    return true;
  }
}
