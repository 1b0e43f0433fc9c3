// How RDS checks an IAM login, stood in at the protocol boundary PostgreSQL offers for it: a pg_hba `ldap` line
// hands the user name and the password (the IAM token) to an LDAP server as a simple bind, and this minimal
// LDAPv3 server answers the bind by verifying the token like RDS does (signature, 15-minute expiry, revoked keys,
// which role may connect as which user). It speaks just enough LDAP for that: BindRequest with simple
// authentication, BindResponse, UnbindRequest; anything else closes the connection. No dependency.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { CredentialStore } from './iam';
import { listenOnLoopback } from './loopback';

export type BindCheck = { ok: true; role?: string } | { ok: false; reason: string };
/** Decides one bind: the user from the DN, the password as sent. */
export type BindVerifier = (user: string, password: string) => Promise<BindCheck>;

export interface BindRecord {
  user: string;
  ok: boolean;
  /** The IAM role whose credentials signed the token, when the verifier says. */
  role?: string;
  reason?: string;
}

export interface RdsIamLdapOptions {
  verify: BindVerifier;
  port?: number;
  /** The DN PostgreSQL binds with is `cn=<user>,ou=<ou>` (pg_hba: ldapprefix="cn=" ldapsuffix=",ou=rds-iam"). */
  ou?: string;
}

const RESULT_SUCCESS = 0;
const RESULT_PROTOCOL_ERROR = 2;
const RESULT_AUTH_METHOD_NOT_SUPPORTED = 7;
const RESULT_INVALID_CREDENTIALS = 49;

const TAG_SEQUENCE = 0x30;
const TAG_INTEGER = 0x02;
const TAG_OCTET_STRING = 0x04;
const TAG_ENUMERATED = 0x0a;
const TAG_BIND_REQUEST = 0x60; // [APPLICATION 0] constructed
const TAG_BIND_RESPONSE = 0x61; // [APPLICATION 1] constructed
const TAG_UNBIND_REQUEST = 0x42; // [APPLICATION 2] primitive (NULL)
const TAG_SIMPLE_AUTH = 0x80; // [0] primitive
/** A bind is a few KB at most (a token with a session token is ~1.5 KB); anything bigger is not ours. */
const MAX_MESSAGE_BYTES = 64 * 1024;

interface Element {
  tag: number;
  value: Buffer;
  /** Bytes the element took, header included. */
  size: number;
}

/** One BER element at the start of `buffer`, or undefined until all of it has arrived. Definite lengths only. */
export function readElement(buffer: Buffer): Element | undefined {
  if (buffer.length < 2) return undefined;
  const tag = buffer[0];
  let length = buffer[1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported BER length');
    if (buffer.length < 2 + count) return undefined;
    length = buffer.readUIntBE(2, count);
    header += count;
  }
  if (length > MAX_MESSAGE_BYTES) throw new Error('BER element too large');
  if (buffer.length < header + length) return undefined;
  return { tag, value: buffer.subarray(header, header + length), size: header + length };
}

function children(value: Buffer): Element[] {
  const elements: Element[] = [];
  for (let rest = value; rest.length > 0;) {
    const element = readElement(rest);
    if (!element) throw new Error('truncated BER element');
    elements.push(element);
    rest = rest.subarray(element.size);
  }
  return elements;
}

export function encodeElement(tag: number, value: Buffer): Buffer {
  const n = value.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, value]);
}

function encodeInteger(tag: number, value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  if (bytes[0] & 0x80) bytes.unshift(0); // stay positive in two's complement
  return encodeElement(tag, Buffer.from(bytes));
}

function decodeInteger(value: Buffer): number {
  return value.reduce((n, byte) => n * 256 + byte, 0);
}

export function bindResponse(messageId: number, resultCode: number, diagnostic = ''): Buffer {
  const response = Buffer.concat([
    encodeInteger(TAG_ENUMERATED, resultCode),
    encodeElement(TAG_OCTET_STRING, Buffer.alloc(0)),
    encodeElement(TAG_OCTET_STRING, Buffer.from(diagnostic, 'utf8')),
  ]);
  return encodeElement(
    TAG_SEQUENCE,
    Buffer.concat([encodeInteger(TAG_INTEGER, messageId), encodeElement(TAG_BIND_RESPONSE, response)]),
  );
}

/** The BindRequest a client sends for a simple bind (for tests of this server). */
export function bindRequest(messageId: number, dn: string, password: string): Buffer {
  const request = Buffer.concat([
    encodeInteger(TAG_INTEGER, 3),
    encodeElement(TAG_OCTET_STRING, Buffer.from(dn, 'utf8')),
    encodeElement(TAG_SIMPLE_AUTH, Buffer.from(password, 'utf8')),
  ]);
  return encodeElement(
    TAG_SEQUENCE,
    Buffer.concat([encodeInteger(TAG_INTEGER, messageId), encodeElement(TAG_BIND_REQUEST, request)]),
  );
}

export function unbindRequest(messageId: number): Buffer {
  return encodeElement(
    TAG_SEQUENCE,
    Buffer.concat([encodeInteger(TAG_INTEGER, messageId), encodeElement(TAG_UNBIND_REQUEST, Buffer.alloc(0))]),
  );
}

/** Parses `bindResponse` output (for tests): the message id and result code. */
export function readBindResponse(buffer: Buffer): { messageId: number; resultCode: number; diagnostic: string } {
  const message = readElement(buffer);
  if (!message || message.tag !== TAG_SEQUENCE) throw new Error('not an LDAPMessage');
  const [id, op] = children(message.value);
  if (op.tag !== TAG_BIND_RESPONSE) throw new Error('not a BindResponse');
  const [code, , diagnostic] = children(op.value);
  return {
    messageId: decodeInteger(id.value),
    resultCode: decodeInteger(code.value),
    diagnostic: diagnostic.value.toString('utf8'),
  };
}

export class RdsIamLdapStandIn {
  /** Every bind answered, in order; tests read who logged in and why a login was refused. */
  readonly binds: BindRecord[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly options: RdsIamLdapOptions,
  ) {}

  static async start(options: RdsIamLdapOptions): Promise<RdsIamLdapStandIn> {
    const server = createServer();
    const standIn = new RdsIamLdapStandIn(server, options);
    server.on('connection', (socket) => standIn.serve(socket));
    await listenOnLoopback(server, options.port);
    return standIn;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let queue = Promise.resolve();
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      try {
        for (let message = readElement(pending); message; message = readElement(pending)) {
          pending = pending.subarray(message.size);
          const current = message;
          // Answers go out in request order even though a verification is asynchronous.
          queue = queue
            .then(() => this.handle(socket, current))
            .catch(() => {
              socket.destroy();
            });
        }
      } catch {
        socket.destroy();
      }
    });
  }

  private async handle(socket: Socket, message: Element): Promise<void> {
    if (message.tag !== TAG_SEQUENCE) throw new Error('not an LDAPMessage');
    const [id, op] = children(message.value);
    const messageId = decodeInteger(id.value);
    if (op.tag === TAG_UNBIND_REQUEST) {
      socket.end();
      return;
    }
    if (op.tag !== TAG_BIND_REQUEST) throw new Error('only bind and unbind are served');
    const [version, name, auth] = children(op.value);
    if (decodeInteger(version.value) !== 3) {
      socket.write(bindResponse(messageId, RESULT_PROTOCOL_ERROR, 'LDAPv3 only'));
      return;
    }
    if (auth.tag !== TAG_SIMPLE_AUTH) {
      socket.write(bindResponse(messageId, RESULT_AUTH_METHOD_NOT_SUPPORTED, 'simple bind only'));
      return;
    }
    const user = this.userOf(name.value.toString('utf8'));
    const password = auth.value.toString('utf8');
    const check: BindCheck =
      user === undefined
        ? { ok: false, reason: `bind DN is not cn=<user>,ou=${this.ou}` }
        : password === ''
          ? { ok: false, reason: 'empty password' } // an anonymous bind must not pass as a login
          : await this.options.verify(user, password).catch((error: Error) => ({ ok: false, reason: error.message }));
    this.binds.push({
      user: user ?? '',
      ok: check.ok,
      ...(check.ok ? (check.role ? { role: check.role } : {}) : { reason: check.reason }),
    });
    socket.write(
      check.ok
        ? bindResponse(messageId, RESULT_SUCCESS)
        : bindResponse(messageId, RESULT_INVALID_CREDENTIALS, check.reason),
    );
  }

  private get ou(): string {
    return this.options.ou ?? 'rds-iam';
  }

  private userOf(dn: string): string | undefined {
    const match = /^cn=([^,]+),ou=([^,]+)$/i.exec(dn);
    return match && match[2] === this.ou ? match[1] : undefined;
  }
}

/**
 * The RDS side of an IAM login: the token must be a valid `rds-db` token, signed for one of this database's
 * endpoints (`host:port`, primary or replica), by a role allowed to connect as the very user logging in.
 */
export function rdsIamTokenVerifier(store: CredentialStore, endpoints: string[]): BindVerifier {
  return async (user, token) => {
    let host: string;
    try {
      host = new URL(`https://${token}`).host;
    } catch {
      return { ok: false, reason: 'not an IAM auth token' };
    }
    if (!endpoints.includes(host)) return { ok: false, reason: `token is for ${host}, not this database` };
    const check = await store.verifyPresignedToken(token, { service: 'rds-db', host });
    if (!check.ok) return check;
    if (check.user !== user) return { ok: false, reason: `token is for ${check.user}, not ${user}` };
    return { ok: true, role: check.role };
  };
}
