import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, request, Server, ServerResponse, Agent } from 'node:http';
import { AddressInfo, connect, Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import pino, { Logger } from 'pino';
import { createClient } from 'redis';
import { WebSocket } from 'ws';
import { parseEnvFile } from '../../common/config/local-env-file';
import { repositoryRoot } from '../../common/repository-root';
import { replicaCaughtUp } from '../../server/test/helpers';
import type { Captured } from './find-plaintexts';

/**
 * Records what crosses every protocol boundary of the deployed shape while a test runs, so the test can then say
 * "this plaintext appeared nowhere": SQS request and response bodies (through a recording proxy the API and worker
 * talk to), every Redis command (MONITOR) and published payload (PSUBSCRIBE *) plus a final SCAN of every key,
 * `pg_dump --data-only` of the primary and the replica, the API instances' and the worker's logs at debug, and what
 * the SDK clients sent and received over HTTP and the WebSocket. Loopback only.
 */
export class CaptureHarness {
  private readonly recorded: Captured[] = [];
  private readonly logs = new Map<string, Buffer[]>();
  private readonly sqs = new SqsRecordingProxy(this.recorded);
  private readonly redis = new RedisRecorder(this.recorded);
  private worker: Logger | undefined;

  private constructor() {}

  static async start(): Promise<CaptureHarness> {
    const harness = new CaptureHarness();
    await harness.sqs.start(required('SQS_ENDPOINT'));
    await harness.redis.start(required('REDIS_URL'));
    return harness;
  }

  /** The SQS endpoint (SQS_ENDPOINT) the API and worker must use. */
  get sqsEndpoint(): string {
    return this.sqs.url;
  }

  /** A log stream for `startServer({ logLevel: 'debug', logStream })`. */
  logStream(name: string): Writable {
    const chunks: Buffer[] = [];
    this.logs.set(name, chunks);
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    return stream;
  }

  /** A worker logger at debug, captured in memory (the worker's own is pino on stdout with these bindings). */
  workerLogger(name = 'worker'): Logger {
    this.worker = pino({ level: 'debug', base: { service: 'cyphr-worker', pid: process.pid } }, this.logStream(name));
    return this.worker;
  }

  /** The logger handed to the worker (for planting a canary in its stream). */
  get workerLog(): Logger {
    if (!this.worker) throw new Error('capture: no worker logger yet');
    return this.worker;
  }

  /** `fetch` for an SDK client: records every request and response body. */
  recordingFetch(name: string): typeof fetch {
    return async (input, init) => {
      const body = init?.body;
      if (typeof body === 'string') this.record(`http ${name} request`, Buffer.from(body));
      else if (body instanceof Uint8Array) this.record(`http ${name} request`, Buffer.from(body));
      else if (body !== undefined && body !== null)
        throw new Error(`capture: unrecorded request body type for ${name}`);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      this.record(`http ${name} url`, Buffer.from(url));
      const response = await fetch(input, init);
      this.record(`http ${name} response`, Buffer.from(await response.clone().arrayBuffer()));
      return response;
    };
  }

  /** A `ws` WebSocket constructor for an SDK client that records every frame sent and received. */
  recordingWebSocket(name: string): typeof WebSocket {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const harness = this;
    return class RecordingWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.on('message', (data: Buffer | Buffer[] | ArrayBuffer) =>
          harness.record(`ws ${name} received`, frameBytes(data)),
        );
      }

      override send(data: unknown, ...rest: unknown[]): void {
        harness.record(`ws ${name} sent`, frameBytes(data));
        (super.send as (...args: unknown[]) => void)(data, ...rest);
      }
    } as typeof WebSocket;
  }

  /** Everything captured so far, plus a SCAN of Redis and dumps of both databases taken now. */
  async collect(): Promise<Captured[]> {
    await replicaCaughtUp();
    const [keys, primary, replica] = await Promise.all([
      this.redis.scanAll(),
      dumpDatabase(required('DATABASE_URL')),
      dumpDatabase(required('DATABASE_REPLICA_URLS').split(',')[0]),
    ]);
    const logs = [...this.logs].map(([name, chunks]) => ({ source: `log ${name}`, data: Buffer.concat(chunks) }));
    return [
      ...this.recorded,
      ...keys,
      { source: 'pg primary dump', data: primary },
      { source: 'pg replica dump', data: replica },
      ...logs,
    ];
  }

  /** Writes each capture to a file under `dir` (set CYPHR_CAPTURE_DIR to look at what a run saw). */
  static writeTo(dir: string, captures: Captured[]): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    captures.forEach(({ source, data }, index) =>
      writeFileSync(
        join(dir, `${String(index).padStart(5, '0')}-${source.replace(/[^\w.-]+/g, '_').slice(0, 80)}`),
        data,
      ),
    );
  }

  /** What each boundary captured, in bytes: a test asserts none is empty (an empty capture proves nothing). */
  static sizes(captures: Captured[]): Record<string, number> {
    const sizes: Record<string, number> = {};
    for (const { source, data } of captures) {
      const boundary = source.split(' ').slice(0, 2).join(' ');
      sizes[boundary] = (sizes[boundary] ?? 0) + data.length;
    }
    return sizes;
  }

  /** For planting a canary through the same path a boundary's capture reads. */
  get redisClient(): ReturnType<typeof createClient> {
    return this.redis.client;
  }

  async stop(): Promise<void> {
    await Promise.all([this.sqs.stop(), this.redis.stop()]);
  }

  private record(source: string, data: Buffer): void {
    this.recorded.push({ source, data });
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`capture: ${name} is not set (are the local services up?)`);
  return value;
}

function frameBytes(data: unknown): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new Error('capture: unrecorded WebSocket frame type');
}

/** Forwards every request to the SQS server and records both bodies (long polls stream through unchanged). */
class SqsRecordingProxy {
  private server: Server | undefined;
  private readonly agent = new Agent({ keepAlive: true });
  url = '';

  constructor(private readonly recorded: Captured[]) {}

  async start(target: string): Promise<void> {
    const upstream = new URL(target);
    this.server = createServer((incoming, outgoing) => this.forward(upstream, incoming, outgoing));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private forward(upstream: URL, incoming: IncomingMessage, outgoing: ServerResponse): void {
    const action = String(incoming.headers['x-amz-target'] ?? incoming.url).replace(/^AmazonSQS\./, '');
    const body: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => body.push(chunk));
    incoming.on('end', () => {
      const sent = Buffer.concat(body);
      this.recorded.push({ source: `sqs request ${action}`, data: sent });
      // Headers as signed, Host included: the request is the client's, only the socket differs.
      const forwarded = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
          agent: this.agent,
        },
        (answer) => {
          const received: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => received.push(chunk));
          answer.on('end', () => {
            const raw = Buffer.concat(received);
            const gzipped = answer.headers['content-encoding'] === 'gzip';
            this.recorded.push({ source: `sqs response ${action}`, data: gzipped ? gunzipSync(raw) : raw });
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            outgoing.end(raw);
          });
        },
      );
      forwarded.on('error', (error) => {
        outgoing.writeHead(502);
        outgoing.end(String(error));
      });
      forwarded.end(sent);
    });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.agent.destroy();
  }
}

/** Every command (MONITOR, on its own raw connection) and every published payload (PSUBSCRIBE *), then a SCAN. */
class RedisRecorder {
  client!: ReturnType<typeof createClient>;
  private subscriber!: ReturnType<typeof createClient>;
  private monitor: Socket | undefined;
  private readonly monitored: Buffer[] = [];

  constructor(private readonly recorded: Captured[]) {}

  async start(redisUrl: string): Promise<void> {
    this.client = createClient({ url: redisUrl });
    this.subscriber = this.client.duplicate();
    await Promise.all([this.client.connect(), this.subscriber.connect()]);
    await this.subscriber.pSubscribe(
      '*',
      (message: Buffer, channel: Buffer) =>
        this.recorded.push({ source: `redis publish ${channel.toString()}`, data: Buffer.from(message) }),
      true,
    );
    await this.startMonitor(new URL(redisUrl));
  }

  private async startMonitor(url: URL): Promise<void> {
    const command = (...words: string[]) =>
      `*${words.length}\r\n` + words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join('');
    const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
    this.monitor = socket;
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const onData = (chunk: Buffer) => {
        seen += chunk.toString();
        // +OK for AUTH, then +OK for MONITOR; from then on every line is a command some client ran.
        if (seen.split('+OK\r\n').length >= 3) {
          socket.off('data', onData);
          socket.on('data', (data: Buffer) => this.monitored.push(Buffer.from(data)));
          resolve();
        } else if (seen.startsWith('-')) reject(new Error(`redis MONITOR refused: ${seen.trim()}`));
      };
      socket.on('data', onData);
      socket.write(
        command('AUTH', decodeURIComponent(url.username || 'default'), decodeURIComponent(url.password)) +
          command('MONITOR'),
      );
    });
  }

  /** Every key and its value, whatever its type (string, hash, set, sorted set, list, stream). */
  async scanAll(): Promise<Captured[]> {
    const values: Captured[] = [{ source: 'redis monitor', data: Buffer.concat(this.monitored) }];
    for await (const keys of this.client.scanIterator({ COUNT: 500 })) {
      for (const key of keys) {
        const value = await this.valueOf(key);
        values.push({ source: `redis key ${key}`, data: Buffer.from(`${key}\n${JSON.stringify(value)}`) });
      }
    }
    return values;
  }

  private async valueOf(key: string): Promise<unknown> {
    switch (await this.client.type(key)) {
      case 'string':
        return this.client.get(key);
      case 'hash':
        return this.client.hGetAll(key);
      case 'set':
        return this.client.sMembers(key);
      case 'zset':
        return this.client.zRangeWithScores(key, 0, -1);
      case 'list':
        return this.client.lRange(key, 0, -1);
      case 'stream':
        return this.client.xRange(key, '-', '+');
      default:
        return null; // expired between SCAN and TYPE
    }
  }

  async stop(): Promise<void> {
    this.monitor?.destroy();
    await Promise.all([this.subscriber?.quit(), this.client?.quit()].map((done) => done?.catch(() => undefined)));
  }
}

/** `pg_dump --data-only` as the superuser (the app role may not read every table), over the checkout's TLS. */
function dumpDatabase(databaseUrl: string): Promise<Buffer> {
  const url = new URL(databaseUrl);
  const secrets = parseEnvFile(readFileSync(join(repositoryRoot(), '.local', 'secrets.env'), 'utf8'));
  return new Promise((resolve, reject) => {
    const dump = spawn(
      '/usr/bin/pg_dump',
      ['--data-only', '-h', url.hostname, '-p', url.port, '-U', 'postgres', url.pathname.slice(1)],
      {
        env: {
          PATH: process.env.PATH,
          PGPASSWORD: secrets.PG_SUPERUSER_PASSWORD,
          PGSSLMODE: process.env.CYPHR_PG_CA_FILE ? 'verify-ca' : 'prefer',
          PGSSLROOTCERT: process.env.CYPHR_PG_CA_FILE,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    dump.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    dump.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    dump.on('error', reject);
    dump.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`pg_dump ${url.port} failed (${code}): ${Buffer.concat(err).toString().trim()}`)),
    );
  });
}
