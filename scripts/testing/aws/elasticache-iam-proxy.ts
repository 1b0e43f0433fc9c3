// ElastiCache's IAM authentication at the protocol boundary, for tests: a TLS endpoint speaking RESP in front of a
// local Redis. Clients AUTH (or HELLO ... AUTH) with an ElastiCache IAM token as the password; the proxy checks it as
// ElastiCache does (CredentialStore.verifyPresignedToken: signature, 15 minutes, signed for this cache, the token's
// User is the AUTH user, the signing role may connect as that user) and, when good, replaces it with AUTH as the
// local ACL user standing in for that ElastiCache user. A bad token reaches Redis as AUTH with credentials no user
// has, so the client gets Redis's own -WRONGPASS in the right place of a pipeline. Every AUTH on a connection is
// checked, the first and any later re-AUTH. Everything else passes through unchanged, both ways.
// `dropAll()` closes every connection, as ElastiCache does 12 hours after a connection's last AUTH.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { CredentialStore } from './iam';
import { listenOnLoopback } from './loopback';

export interface ElastiCacheIamProxyOptions {
  credentials: CredentialStore;
  /** The replication group id tokens must be signed for. */
  cacheName: string;
  /** The local Redis behind the proxy. */
  backend: { host: string; port: number };
  /** ElastiCache user id → the local ACL user (with its password) the proxy AUTHs as in its place. */
  users: Record<string, { username: string; password: string }>;
  /** Server key and certificate (PEM), from a CA the client must trust. */
  tls: { key: string; cert: string };
  port?: number;
}

/** One AUTH the proxy judged, in order. */
export interface AuthAttempt {
  user: string;
  ok: boolean;
  reason?: string;
  /** The access key that signed the token (ok only): tells which credentials the client used. */
  accessKeyId?: string;
  /** Which client connection (1, 2, ...): a re-AUTH shows the same number twice. */
  connection: number;
}

const CRLF = Buffer.from('\r\n');

/** A RESP array of bulk strings, as clients send commands. */
function encodeCommand(args: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) parts.push(Buffer.from(`$${arg.length}\r\n`), arg, CRLF);
  return Buffer.concat(parts);
}

/** Parses one command at `offset`: its arguments and where the next one starts, or undefined if incomplete. */
function parseCommand(buffer: Buffer, offset: number): { args: Buffer[]; next: number } | undefined {
  const lineEnd = (from: number) => {
    const end = buffer.indexOf(CRLF, from);
    return end < 0 ? undefined : end;
  };
  const headerEnd = lineEnd(offset);
  if (headerEnd === undefined) return undefined;
  const count = Number(buffer.toString('latin1', offset + 1, headerEnd));
  if (!Number.isInteger(count) || count < 0) throw new Error('malformed RESP array header');
  let position = headerEnd + 2;
  const args: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    if (position >= buffer.length) return undefined;
    if (buffer[position] !== 0x24) throw new Error('expected a bulk string'); // '$'
    const end = lineEnd(position);
    if (end === undefined) return undefined;
    const length = Number(buffer.toString('latin1', position + 1, end));
    if (!Number.isInteger(length) || length < 0) throw new Error('malformed bulk string length');
    const start = end + 2;
    if (buffer.length < start + length + 2) return undefined;
    args.push(buffer.subarray(start, start + length));
    position = start + length + 2;
  }
  return { args, next: position };
}

export class ElastiCacheIamProxy {
  readonly auths: AuthAttempt[] = [];
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  /** Credentials no ACL user has: a refused token is forwarded as these, so Redis itself answers -WRONGPASS. */
  private readonly refused = [Buffer.from('cyphr-iam-refused'), Buffer.from(randomBytes(24).toString('hex'))];

  private constructor(
    private readonly server: Server,
    private readonly options: ElastiCacheIamProxyOptions,
  ) {}

  static async start(options: ElastiCacheIamProxyOptions): Promise<ElastiCacheIamProxy> {
    const server = createServer({ key: options.tls.key, cert: options.tls.cert });
    const proxy = new ElastiCacheIamProxy(server, options);
    server.on('secureConnection', (socket) => proxy.accept(socket));
    server.on('tlsClientError', () => undefined);
    await listenOnLoopback(server, options.port);
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** rediss://localhost:<port>: the certificate names localhost, as ElastiCache's names its endpoint. */
  get url(): string {
    return `rediss://localhost:${this.port}`;
  }

  /** Open client connections now. */
  get openConnections(): number {
    return [...this.sockets].filter((socket) => 'encrypted' in socket).length;
  }

  /** Closes every client and backend connection now (ElastiCache's 12-hour cut, or a failover). */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: TLSSocket): void {
    const id = ++this.connections;
    const backend = connect(this.options.backend.port, this.options.backend.host);
    this.sockets.add(client).add(backend);
    const closeBoth = () => {
      client.destroy();
      backend.destroy();
      this.sockets.delete(client);
      this.sockets.delete(backend);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    backend.on('error', closeBoth).on('close', closeBoth);
    backend.on('data', (chunk) => client.write(chunk));

    let pending = Buffer.alloc(0);
    // Commands are forwarded in order; an AUTH waits for its check, and the commands behind it wait too.
    let forwarding = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const commands: Buffer[][] = [];
      let offset = 0;
      try {
        while (offset < pending.length) {
          if (pending[offset] !== 0x2a) throw new Error('only RESP arrays are accepted'); // '*'
          const parsed = parseCommand(pending, offset);
          if (!parsed) break;
          commands.push(parsed.args);
          offset = parsed.next;
        }
      } catch {
        return closeBoth();
      }
      pending = pending.subarray(offset);
      for (const args of commands) {
        forwarding = forwarding.then(async () => {
          if (!backend.destroyed) backend.write(encodeCommand(await this.rewrite(args, id)));
        });
      }
    });
  }

  /** AUTH [user] token and HELLO ... AUTH user token get their token checked and swapped; the rest is untouched. */
  private async rewrite(args: Buffer[], connection: number): Promise<Buffer[]> {
    const name = args[0]?.toString('latin1').toUpperCase();
    if (name === 'AUTH' && (args.length === 2 || args.length === 3)) {
      const [user, token] = args.length === 3 ? [args[1], args[2]] : [Buffer.from('default'), args[1]];
      return [args[0], ...(await this.judge(user.toString(), token.toString(), connection))];
    }
    if (name === 'HELLO') {
      const at = args.findIndex((arg, index) => index > 1 && arg.toString('latin1').toUpperCase() === 'AUTH');
      if (at > 0 && args.length >= at + 3) {
        const replaced = await this.judge(args[at + 1].toString(), args[at + 2].toString(), connection);
        return [...args.slice(0, at + 1), ...replaced, ...args.slice(at + 3)];
      }
    }
    return args;
  }

  private async judge(user: string, token: string, connection: number): Promise<Buffer[]> {
    const check = await this.options.credentials.verifyPresignedToken(token, {
      service: 'elasticache',
      host: this.options.cacheName,
    });
    const local = this.options.users[user];
    let reason: string | undefined;
    if (!check.ok) reason = check.reason;
    else if (check.user !== user) reason = `token is for ${check.user}, AUTH is for ${user}`;
    else if (!local) reason = `no ElastiCache user ${user}`;
    this.auths.push(
      reason
        ? { user, ok: false, reason, connection }
        : { user, ok: true, accessKeyId: check.ok ? check.accessKeyId : undefined, connection },
    );
    if (reason || !local) return this.refused;
    return [Buffer.from(local.username), Buffer.from(local.password)];
  }
}
