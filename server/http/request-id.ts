import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const ACCEPTABLE = /^[\w.-]{8,64}$/;

/**
 * The request id (Fastify's genReqId, the only source of one): the caller's `X-Request-Id` when it looks sane, so
 * one id follows a request through the ALB, else a new uuid. requestLog echoes it.
 */
export function chooseRequestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}
