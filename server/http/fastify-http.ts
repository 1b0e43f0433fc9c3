import {
  BadRequestException,
  HttpException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
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

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;
const PARSED_AS_JSON = /^application\/json\s*(;|$)/i;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
/**
 * A body refused by the parser, thrown by the preValidation hook: a parser error makes Fastify close the
 * connection, body-parser's did not.
 */
class RefusedBody {
  constructor(readonly exception: HttpException) {}
}
const malformed = () => new RefusedBody(new BadRequestException('Malformed JSON body'));
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;
/** body-parser's inflation (its default `inflate: true`); the body limit applies to the inflated bytes. */
const INFLATE: Record<string, () => Transform> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

type ErrorHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) => void;

/** Fastify's own body errors become the answers body-parser's gave on Express (before Nest's filter sees them). */
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
      // A body that does not inflate (zlib's Z_DATA_ERROR...): body-parser answered 400 with zlib's message.
      if (typeof error?.code === 'string' && error.code.startsWith('Z_')) return new BadRequestException(error.message);
      return error;
  }
}

export function createFastifyAdapter(options: { trustProxy: TrustProxy; bodyLimitBytes: number }): FastifyAdapter {
  return new CyphrFastifyAdapter({
    trustProxy: options.trustProxy,
    bodyLimit: options.bodyLimitBytes,
    logger: false,
    // pino-http keeps the id it finds on the request (middie copies Fastify's there): the same X-Request-Id rule.
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
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'identity') return done(null, payload);
    const inflate = INFLATE[encoding];
    if (!inflate)
      return done(new UnsupportedMediaTypeException(`unsupported content encoding "${encoding}"`), undefined);
    const inflated: Transform & { receivedEncodedLength?: number } = inflate();
    let received = 0;
    payload.on('data', (chunk: Buffer) => (inflated.receivedEncodedLength = received += chunk.length));
    payload.pipe(inflated);
    done(null, inflated);
  });
  fastify.removeAllContentTypeParsers();
  // Any type that passed the 415 check; only application/json is parsed (body-parser's default type), strictly.
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const type = request.headers['content-type'] ?? '';
    if (!PARSED_AS_JSON.test(type)) return done(null, undefined);
    const charset = (CHARSET.exec(type)?.[1] ?? 'utf-8').toLowerCase();
    if (!charset.startsWith('utf-'))
      return done(
        null,
        new RefusedBody(new UnsupportedMediaTypeException(`unsupported charset "${charset.toUpperCase()}"`)),
      );
    const text = body as string;
    if (text.length === 0) return done(null, {});
    const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
    if (first !== '{' && first !== '[') return done(null, malformed());
    try {
      done(null, JSON.parse(text));
    } catch {
      done(null, malformed());
    }
  });
  fastify.addHook('preValidation', (request, _reply, done) =>
    done(request.body instanceof RefusedBody ? request.body.exception : undefined),
  );
}
