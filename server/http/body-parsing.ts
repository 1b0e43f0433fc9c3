import type { NestExpressApplication } from '@nestjs/platform-express';
import { errorBody } from './error-body';
import type { HttpRequest, HttpResponse, Next } from './http-types';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** A route that takes a larger body than the rest: `POST <path>` up to `limitBytes`. */
export interface LargerBody {
  path: string;
  limitBytes: number;
}

/** What body-parser's default `type` for JSON matches: the media type application/json, any parameters. */
const PARSED_AS_JSON = /^application\/json\s*(;|$)/i;

const pathOf = (req: HttpRequest) => (req.url ?? '/').split('?')[0].replace(/(.)\/+$/, '$1');

/**
 * JSON bodies only, at most `limitBytes` (or a `larger` route's own limit). Body-parser failures never reach a
 * controller and never become 500s: oversize → 413, malformed JSON → 400, wrong content type → 415, each as
 * `{statusCode, error, message}`. Call on an app created with `bodyParser: false`.
 */
export function useJsonBodies(app: NestExpressApplication, limitBytes: number, larger?: LargerBody): void {
  app.use((req: HttpRequest, res: HttpResponse, next: Next) => {
    const length = Number(req.headers['content-length'] ?? 0);
    const hasBody = length > 0 || req.headers['transfer-encoding'] !== undefined;
    if (WITH_BODY.has(req.method ?? '') && hasBody && !JSON_TYPE.test(req.headers['content-type'] ?? '')) {
      res.status(415).json(errorBody(415, 'Request bodies must be JSON (Content-Type: application/json)'));
      return;
    }
    next();
  });
  // Each parser takes only its own requests (body-parser's `type` as a predicate): the larger route's limit
  // applies to it alone, and the common limit to everything else.
  const isLarger = (req: HttpRequest) => larger !== undefined && req.method === 'POST' && pathOf(req) === larger.path;
  const json = (req: HttpRequest) => PARSED_AS_JSON.test(req.headers['content-type'] ?? '');
  if (larger)
    app.useBodyParser('json', {
      limit: larger.limitBytes,
      strict: true,
      type: (req: HttpRequest) => isLarger(req) && json(req),
    });
  app.useBodyParser('json', {
    limit: limitBytes,
    strict: true,
    type: (req: HttpRequest) => !isLarger(req) && json(req),
  });
  app.use(
    (
      error: { type?: string; status?: number; message?: string; limit?: number },
      _req: HttpRequest,
      res: HttpResponse,
      next: Next,
    ) => {
      if (!error) return next();
      switch (error.type) {
        case 'entity.too.large':
          return void res.status(413).json(errorBody(413, `Request body exceeds ${error.limit ?? limitBytes} bytes`));
        case 'entity.parse.failed':
          return void res.status(400).json(errorBody(400, 'Malformed JSON body'));
        default: {
          const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
          return void res.status(status).json(errorBody(status, error.message ?? 'Unreadable request body'));
        }
      }
    },
  );
}
