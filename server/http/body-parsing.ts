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

/** body-parser's (and Express's) mark on a request whose body has been read: a parser skips such a request. */
type Marked = HttpRequest & { _body?: boolean; largerBodyDeferred?: boolean };

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
  if (larger) {
    // The larger route's parser runs first and sees only that route: every other request is marked as read for
    // its turn, then unmarked for the common parser, which in turn skips the route already parsed.
    app.use((req: Marked, _res: HttpResponse, next: Next) => {
      if (req.method !== 'POST' || pathOf(req) !== larger.path) req._body = req.largerBodyDeferred = true;
      next();
    });
    app.useBodyParser('json', { limit: larger.limitBytes, strict: true });
    app.use((req: Marked, _res: HttpResponse, next: Next) => {
      if (req.largerBodyDeferred) req._body = req.largerBodyDeferred = false;
      next();
    });
  }
  app.useBodyParser('json', { limit: limitBytes, strict: true });
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
