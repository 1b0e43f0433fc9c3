import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiNoSecurity } from '../http/api-docs';
import type { AuthenticatedUser, HttpRequest } from '../http/http-types';

export const IS_PUBLIC = 'cyphr:public';

/** The route needs no access token (registration, login, health); the OpenAPI document says so too. */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), ApiNoSecurity());

/** The user the access token belongs to (set by AuthGuard). */
export const CurrentUser = createParamDecorator((_: unknown, context: ExecutionContext): AuthenticatedUser => {
  return context.switchToHttp().getRequest<HttpRequest>().user!;
});
