import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { TrustProxy } from '../realtime/upgrade-request';
import { errorBody } from './error-body';
import { chooseRequestId } from './request-id';

/*
 * The API runs on @nestjs/platform-fastify (Express cost about 0.1 ms more CPU per request; see README). The
 * adapter below keeps the answers the API gave on Express at the edges: routing, URL errors, body errors.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxyAddr = require('proxy-addr') as { compile(list: string[]): TrustProxy };

/**
 * TRUST_PROXY compiled once (true, a hop count, or a comma-separated list of addresses and subnets, as Express's
 * `trust proxy` took it), so request.ip and the WebSocket upgrades agree.
 */
export function compileTrustProxy(value: boolean | number | string): TrustProxy {
  if (value === true) return () => true;
  if (typeof value === 'number') return (_address, hop) => hop < value;
  if (typeof value === 'string')
    return proxyAddr.compile(
      value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    );
  return () => false;
}

/** The first path segment that does not percent-decode (Express names it in its 400). */
function undecodable(url: string): string {
  return (
    url
      .split('?')[0]
      .split('/')
      .find((segment) => {
        try {
          decodeURIComponent(segment);
          return false;
        } catch {
          return true;
        }
      }) ?? url
  );
}

type ErrorHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) => void;

/** Fastify's own body errors become the API's 4xx answers (before Nest's filter sees them). */
class CyphrFastifyAdapter extends FastifyAdapter {
  override setErrorHandler(handler: ErrorHandler) {
    return super.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) =>
      handler(translate(error as FastifyError, request, reply), request, reply),
    );
  }
}

function translate(error: FastifyError, request: FastifyRequest, reply: FastifyReply): unknown {
  switch (error?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // Fastify would close the connection while the client is still sending, which then sees EPIPE instead
      // of the 413; as on Express, Node reads and drops the rest of the body and the connection stays usable.
      reply.removeHeader('connection');
      return new PayloadTooLargeException(`Request body exceeds ${request.routeOptions.bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BadRequestException('request size did not match content length');
    default:
      // A body that does not inflate (zlib's Z_DATA_ERROR...): 400 with zlib's message, as Express's body-parser gave.
      if (typeof error?.code === 'string' && error.code.startsWith('Z_')) return new BadRequestException(error.message);
      return error;
  }
}

export function createFastifyAdapter(options: { trustProxy: TrustProxy; bodyLimitBytes: number }): FastifyAdapter {
  return new CyphrFastifyAdapter({
    trustProxy: options.trustProxy,
    bodyLimit: options.bodyLimitBytes,
    logger: false,
    // The one request id (request.id): requestLog echoes it as X-Request-Id, AllExceptionsFilter names it.
    genReqId: chooseRequestId,
    // A path Fastify cannot route (bad percent-encoding) answers in the API's error shape, as Express did.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const bad = error.code === 'FST_ERR_BAD_URL';
      const status = bad ? 400 : (error.statusCode ?? 400);
      reply
        .code(status)
        .send(errorBody(status, bad ? `Failed to decode param '${undecodable(request.url)}'` : error.message));
    },
    // GracefulDrain owns shutdown: lame duck, then the plain net close, then idle connections.
    return503OnClosing: false,
    forceCloseConnections: false,
    // Node's own default, which Fastify turns off (0): a request must arrive whole within 5 minutes.
    requestTimeout: 300_000,
    // Express routing: `/v1/users/me/` is `/v1/users/me`, paths match case-insensitively (parameters keep their
    // case), and a long parameter reaches the route (Fastify answers 414 in its own body past 100 characters).
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false, maxParamLength: 16 * 1024 },
  });
}
