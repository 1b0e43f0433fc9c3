import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { AuthenticatedUser, HttpRequest } from '../http/http-types';

export const IS_PUBLIC = 'cyphr:public';

/** The route needs no access token (registration, login, health). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The user the access token belongs to (set by AuthGuard). */
export const CurrentUser = createParamDecorator((_: unknown, context: ExecutionContext): AuthenticatedUser => {
  return context.switchToHttp().getRequest<HttpRequest>().user!;
});
