import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest } from '../http/http-types';
import { RateLimitName } from './rate-limit-rules';
import { RateLimiter } from './rate-limiter.service';

const RATE_LIMITS = 'cyphr:rate-limits';

/** Extra limits for a route, on top of the per-address and per-user ones every request counts against. `...Ip` rules count per client address, the rest per user. */
export const RateLimit = (...rules: RateLimitName[]) => SetMetadata(RATE_LIMITS, rules);

/** Runs after AuthGuard (registered second), so the user is known. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<HttpRequest>();
    const extra =
      this.reflector.getAllAndOverride<RateLimitName[]>(RATE_LIMITS, [context.getHandler(), context.getClass()]) ?? [];
    const ip = request.ip ?? 'unknown';
    const checks: [RateLimitName, string][] = [['ip', ip]];
    if (request.user) checks.push(['user', request.user.id]);
    for (const rule of extra) {
      if (rule.endsWith('Ip')) checks.push([rule, ip]);
      else if (request.user) checks.push([rule, request.user.id]);
    }
    // A RateLimitedException becomes 429 with Retry-After in AllExceptionsFilter.
    for (const [rule, subject] of checks) await this.limiter.consume(rule, subject);
    return true;
  }
}
