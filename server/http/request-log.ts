import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { redactUrl } from './logging';

/** A request that takes longer than this is logged even when it succeeded. */
export const SLOW_REQUEST_MS = 1_000;

/** Not logged at all: the load balancer's and Prometheus' polling. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

const STARTED = Symbol('requestStarted');
const ID = Symbol('requestId');

type TimedResponse = ServerResponse & { [STARTED]?: number; [ID]?: string };

/**
 * Echoes the request's id (`X-Request-Id`, chosen by chooseRequestId) and logs the requests worth a line: 5xx
 * (error), slow ones (warn), 4xx and requests the client gave up on (info). A successful request is not logged: the ALB's access
 * log has it, and a line per request cost about a third of a message's CPU. Lines keep pino-http's shape
 * (`req` {id, method, url with credentials redacted, remoteAddress}, `res.statusCode`, `responseTime`).
 *
 * No per-request child logger or AsyncLocalStorage: logs written while handling a request do not carry its id by
 * themselves (the 5xx line from AllExceptionsFilter names it), and promise hooks stay off for the whole process.
 */
export function requestLog(logger: Logger): (res: ServerResponse, id: string) => void {
  function finished(this: TimedResponse): void {
    const req = this.req;
    const responseTime = Math.round(performance.now() - this[STARTED]!);
    const status = this.statusCode;
    const aborted = !this.writableFinished;
    const slow = responseTime >= SLOW_REQUEST_MS;
    if (status < 400 && !slow && !aborted) return;
    if (QUIET_PATHS.has((req.url ?? '').split('?')[0])) return;
    const line = {
      req: {
        id: this[ID],
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.socket?.remoteAddress,
      },
      res: { statusCode: status },
      responseTime,
    };
    if (status >= 500) logger.error(line, 'request errored');
    else if (slow) logger.warn(line, 'request completed slowly');
    else logger.info(line, aborted ? 'request aborted' : 'request completed');
  }

  return (res, id) => {
    res.setHeader('X-Request-Id', id);
    (res as TimedResponse)[ID] = id;
    (res as TimedResponse)[STARTED] = performance.now();
    res.on('close', finished); // a response closes once: no once() wrapper per request
  };
}
