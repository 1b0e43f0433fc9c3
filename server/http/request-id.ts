import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const ACCEPTABLE = /^[\w.-]{8,64}$/;

/** The request id: the caller's `X-Request-Id` when it looks sane (so one id follows a request through the ALB), else a new uuid. Echoed back. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const id = chooseRequestId(req);
  res.setHeader('X-Request-Id', id);
  return id;
}

/** The caller's sane `X-Request-Id`, else a new uuid (Fastify's genReqId; the hook echoes it). */
export function chooseRequestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}
