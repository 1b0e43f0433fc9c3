import { IncomingMessage, STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';
import { bearerToken } from '../auth/auth.guard';

/** Browsers cannot set headers: `Sec-WebSocket-Protocol: cyphr, bearer.<token>` carries the token instead. */
export const PROTOCOL = 'cyphr';
const PROTOCOL_TOKEN_PREFIX = 'bearer.';
/** Query parameters a token must not travel in: URLs end up in CloudFront and ALB access logs. */
const URL_TOKEN_PARAMETERS = ['token', 'access_token'];

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    /** The metric label: why (unauthenticated, token-in-url, rate-limited, user-cap, process-cap, ...). */
    readonly reason: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The access token of an upgrade, from `Authorization: Bearer` or the `bearer.<token>` subprotocol; never from
 * the URL (refused with 400 so a client notices at once rather than leaking tokens into access logs).
 */
export function upgradeToken(request: IncomingMessage, url: URL): string | undefined {
  if (URL_TOKEN_PARAMETERS.some((name) => url.searchParams.has(name)))
    throw new UpgradeRefused(
      400,
      'token-in-url',
      'access tokens are not accepted in the URL; send "Authorization: Bearer <token>" or the subprotocols "cyphr, bearer.<token>"',
    );
  return bearerToken(request.headers.authorization) ?? protocolToken(request.headers['sec-websocket-protocol']);
}

function protocolToken(header: string | undefined): string | undefined {
  return header
    ?.split(',')
    .map((part) => part.trim())
    .find((part) => part.startsWith(PROTOCOL_TOKEN_PREFIX))
    ?.slice(PROTOCOL_TOKEN_PREFIX.length);
}

/** The compiled TRUST_PROXY decision for one hop (proxy-addr's, as the HTTP adapter is given it). */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * The client address as `request.ip` computes it (the proxy-addr rule): walk from the socket's peer back through
 * X-Forwarded-For while each hop is a trusted proxy. Upgrades never reach the HTTP framework, so the rate
 * limits key upgrades on the same address as every other request.
 */
export function clientAddress(request: IncomingMessage, trust: TrustProxy): string {
  const forwarded = String(request.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .reverse();
  const chain = [request.socket.remoteAddress ?? 'unknown', ...forwarded];
  let hop = 0;
  while (hop < chain.length - 1 && trust(chain[hop], hop)) hop++;
  return chain[hop];
}

/** Answers an upgrade with a plain HTTP error (the socket never becomes a WebSocket). */
export function refuse(socket: Duplex, refusal: UpgradeRefused): void {
  const { status } = refusal;
  const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message: refusal.message });
  const headers = Object.entries(refusal.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
