import type { IncomingMessage, ServerResponse } from 'node:http';

/** The few parts of Express's request/response the server uses (the repo does not ship @types/express). */
export interface HttpRequest extends IncomingMessage {
  ip?: string;
  body?: unknown;
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  route?: { path: string };
  baseUrl?: string;
  originalUrl?: string;
  user?: AuthenticatedUser;
}

export interface HttpResponse extends ServerResponse {
  status(code: number): HttpResponse;
  json(body: unknown): HttpResponse;
}

export type Next = (error?: unknown) => void;

/** Set on the request by the auth guard. */
export interface AuthenticatedUser {
  id: string;
  /** The device (its id within the account) this request was made from. */
  deviceId: number;
  /** The device's session (the access token's jti): revocations and sockets key on it. */
  sessionId: string;
}
