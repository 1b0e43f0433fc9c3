import type { FastifyReply, FastifyRequest } from 'fastify';

/** A request as controllers, guards and filters see it: Fastify's, plus what the auth guard sets. */
export type HttpRequest = FastifyRequest & { user?: AuthenticatedUser };

/** A response as a controller with `@Res({ passthrough: true })` sees it. */
export type HttpResponse = FastifyReply;

/** Set on the request by the auth guard. */
export interface AuthenticatedUser {
  id: string;
  /** The device (its id within the account) this request was made from. */
  deviceId: number;
  /** The device's session (the access token's jti): revocations and sockets key on it. */
  sessionId: string;
}
