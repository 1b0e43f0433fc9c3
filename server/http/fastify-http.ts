import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TrustProxy } from '../realtime/upgrade-request';
import type { MetricsService } from '../metrics/metrics.service';
import type { LargerBody } from './body-parsing';
import { errorBody } from './error-body';
import { chooseRequestId } from './request-id';
import type { GracefulDrain } from './graceful-drain';

/*
 * EXPERIMENT (HTTP_ADAPTER=fastify): the API on @nestjs/platform-fastify instead of Express, with the same
 * contracts as server/http/body-parsing.ts, graceful-drain.ts and metrics/http-metrics.middleware.ts give the
 * Express app. Not the default; see /work/plan/perf-fastify.md for what it measured.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxyAddr = require('proxy-addr') as { compile(list: string[]): TrustProxy };

/** Express's `trust proxy` compilation (compileTrust), so req.ip and the WebSocket upgrades agree with it. */
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

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;
const PARSED_AS_JSON = /^application\/json\s*(;|$)/i;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
/** A body that is not JSON (see the preValidation hook). */
const MALFORMED = Symbol('malformed JSON');

type ErrorHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) => void;

/** Fastify's own body errors become the answers body-parser's gave on Express (before Nest's filter sees them). */
class CyphrFastifyAdapter extends FastifyAdapter {
  override setErrorHandler(handler: ErrorHandler) {
    return super.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) =>
      handler(translate(error as FastifyError, request), request, reply),
    );
  }
}

function translate(error: FastifyError, request: FastifyRequest): unknown {
  switch (error?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeException(`Request body exceeds ${request.routeOptions.bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BadRequestException('request size did not match content length');
    default:
      return error;
  }
}

export function createFastifyAdapter(options: { trustProxy: TrustProxy; bodyLimitBytes: number }): FastifyAdapter {
  return new CyphrFastifyAdapter({
    trustProxy: options.trustProxy,
    bodyLimit: options.bodyLimitBytes,
    logger: false,
    disableRequestLogging: true,
    // pino-http keeps the id it finds on the request (middie copies Fastify's there): the same X-Request-Id rule.
    genReqId: chooseRequestId,
    // GracefulDrain owns shutdown: lame duck, then the plain net close, then idle connections.
    return503OnClosing: false,
    forceCloseConnections: false,
    // Express routing: `/v1/users/me/` is `/v1/users/me`.
    routerOptions: { ignoreTrailingSlash: true },
  });
}

/**
 * The Express app's first middleware, as hooks: drain (lame duck), metrics, 415 for non-JSON bodies; then the
 * JSON body parser with per-route limits (Fastify reads and limits the body, so a route's own limit is set on it).
 */
export function useFastifyHttp(
  fastify: FastifyInstance,
  drain: GracefulDrain,
  metrics: MetricsService,
  larger?: LargerBody,
): void {
  const started = new WeakMap<FastifyRequest, bigint>();
  fastify.addHook('onRequest', (request, reply, done) => {
    started.set(request, process.hrtime.bigint());
    reply.header('X-Request-Id', request.id);
    if (drain.isDraining) {
      reply.header('Connection', 'close');
      if (request.method === 'GET' && request.url.split('?')[0] === '/health') {
        reply.code(503).send(errorBody(503, 'Draining: this instance is shutting down'));
        return;
      }
    }
    const length = Number(request.headers['content-length'] ?? 0);
    const hasBody = length > 0 || request.headers['transfer-encoding'] !== undefined;
    if (WITH_BODY.has(request.method) && hasBody && !JSON_TYPE.test(request.headers['content-type'] ?? '')) {
      reply.code(415).send(errorBody(415, 'Request bodies must be JSON (Content-Type: application/json)'));
      return;
    }
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    const since = started.get(request);
    if (since !== undefined) metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - since) / 1e9);
    done();
  });
  if (larger)
    fastify.addHook('onRoute', (route) => {
      if (route.method === 'POST' && route.url === larger.path) route.bodyLimit = larger.limitBytes;
    });
  fastify.removeAllContentTypeParsers();
  // Any type that passed the 415 check; only application/json is parsed (body-parser's default type), strictly.
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (!PARSED_AS_JSON.test(request.headers['content-type'] ?? '')) return done(null, undefined);
    if (request.headers['content-length'] === '0') return done(null, undefined);
    const text = body as string;
    if (text.length === 0) return done(null, {});
    const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
    if (first !== '{' && first !== '[') return done(null, MALFORMED);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(null, MALFORMED);
    }
  });
  // Refused after parsing, not by the parser: a parser error makes Fastify close the connection; body-parser did not.
  fastify.addHook('preValidation', (request, _reply, done) =>
    done(request.body === MALFORMED ? new BadRequestException('Malformed JSON body') : undefined),
  );
}
