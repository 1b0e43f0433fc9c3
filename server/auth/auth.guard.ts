import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedUser, HttpRequest } from '../http/http-types';
import { clientAddressKey } from '../rate-limits/client-address';
import { requestRateLimits } from '../rate-limits/rate-limit.guard';
import { RateLimiter } from '../rate-limits/rate-limiter.service';
import { IS_PUBLIC } from './auth.decorators';
import { AuthService } from './auth.service';

/** Extracts `Authorization: Bearer <token>`. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
  return match?.[1];
}

/**
 * Global, the one guard of every HTTP request: every route needs a live access token unless marked @Public(), and
 * every request counts against its rate limits (A RateLimitedException becomes 429 with Retry-After in
 * AllExceptionsFilter).
 *
 * The token is checked first (its signature locally; the session usually from the in-process cache, see
 * DevicesRepository.isLive), so that the per-address counters and, once the user is known, the per-user ones go
 * to Redis together in one round trip. Every request counts per address whatever its token, so requests answered
 * 401 are counted and limited too, and the per-address limit is answered (429) before a token problem (401), as
 * when it was a guard of its own. Per-user counters count only authenticated requests: a revoked token cannot spend
 * its owner's budget. (An authenticated request refused per address still counts per user: one round trip.)
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<HttpRequest>();
    const limits = requestRateLimits(this.reflector, context);
    const byAddress = limits.byAddress(clientAddressKey(request.ip));
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) {
      await this.limiter.consumeAll(byAddress);
      return true;
    }
    let user: AuthenticatedUser;
    try {
      user = await this.auth.authenticate(bearerToken(request.headers.authorization));
    } catch (refused) {
      await this.limiter.consumeAll(byAddress);
      throw refused;
    }
    await this.limiter.consumeAll([...byAddress, ...limits.byUser(user.id)]);
    request.user = user;
    return true;
  }
}
