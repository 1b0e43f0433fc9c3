import { BadRequestException, HttpException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { errorBody } from './error-body';

/** A route that takes a larger body than the rest: `POST <path>` up to `limitBytes`. */
export interface LargerBody {
  path: string;
  limitBytes: number;
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;
/** What is parsed: the media type application/json, any parameters (+json types pass the 415 check unparsed). */
const PARSED_AS_JSON = /^application\/json\s*(;|$)/i;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;
/** Compressed bodies are inflated; the body limit applies to the inflated bytes. */
const INFLATE: Record<string, () => Transform> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * A body the parser refuses, thrown by the preValidation hook instead: an error from a content-type parser makes
 * Fastify close the connection, and a refused body must leave it usable.
 */
class RefusedBody {
  constructor(readonly exception: HttpException) {}
}
const malformed = () => new RefusedBody(new BadRequestException('Malformed JSON body'));

/**
 * JSON bodies only, at most the app's bodyLimit (or a `larger` route's own limit). Body failures never reach a
 * controller and never become 500s: oversize → 413, malformed JSON → 400, wrong content type or charset → 415, each
 * as `{statusCode, error, message}` (the 413 and a bad content length come from the adapter's error translation).
 */
export function useJsonBodies(fastify: FastifyInstance, larger?: LargerBody): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const length = Number(request.headers['content-length'] ?? 0);
    const hasBody = length > 0 || request.headers['transfer-encoding'] !== undefined;
    if (WITH_BODY.has(request.method) && hasBody && !JSON_TYPE.test(request.headers['content-type'] ?? '')) {
      void reply.code(415).send(errorBody(415, 'Request bodies must be JSON (Content-Type: application/json)'));
      return;
    }
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
  // Any type that passed the 415 check; only application/json is parsed, strictly (an object or an array).
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
