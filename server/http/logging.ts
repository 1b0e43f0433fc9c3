/**
 * What the logs must never hold: access tokens. They travel in `Authorization`, in the WebSocket subprotocol
 * (`Sec-WebSocket-Protocol: cyphr, bearer.<token>`, browsers cannot set headers) and, from clients that should
 * not, in a `token` query parameter (refused on /v1/ws, but the refusal is logged too). Request lines keep their
 * shape with the value replaced, so a log still shows that someone sent a token where they should not.
 */
export const REDACTED = '[Redacted]';

/** pino `redact` paths: the request serializer keeps no headers, this also covers any future one that does. */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
];

/** Query parameters whose values are credentials. */
const SECRET_PARAMETER = /([?&;](?:access_token|token|jwt|auth)=)[^&#;]*/gi;

/** The URL (path and query) with credential-bearing query values replaced by REDACTED. */
export function redactUrl(url: string | undefined): string {
  return (url ?? '').replace(SECRET_PARAMETER, `$1${REDACTED}`);
}
