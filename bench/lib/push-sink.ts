import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../worker/notifications/webhook-signature';

/**
 * A stand-in for the push gateway the worker's webhook provider posts to (PUSH_PROVIDER=webhook): it answers
 * every POST 204 at once and counts what arrived, so a phase can wait for every notification and check that
 * each carried a valid signature. It runs in the bench process: its CPU is the load generator's, not ours.
 */
export interface PushSinkCounts {
  /** Signed with the shared secret and answered 204. */
  delivered: number;
  /** Without the signature header. */
  unsigned: number;
  /** With a signature header that does not verify. */
  badSignature: number;
}

export class PushSink {
  /** The signing key the worker gets as PUSH_WEBHOOK_SECRET (at least 32 characters). */
  readonly secret = randomBytes(32).toString('hex');
  readonly counts: PushSinkCounts = { delivered: 0, unsigned: 0, badSignature: 0 };
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<PushSink> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sink = new PushSink(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        sink.count(req.headers[SIGNATURE_HEADER], Buffer.concat(chunks).toString('utf8'));
        res.writeHead(204).end();
      });
    });
    return sink;
  }

  /** Worker environment that sends its notifications here. */
  get workerEnv(): Record<string, string> {
    return { PUSH_PROVIDER: 'webhook', PUSH_WEBHOOK_URL: this.url, PUSH_WEBHOOK_SECRET: this.secret };
  }

  private count(header: string | string[] | undefined, body: string): void {
    if (typeof header !== 'string') this.counts.unsigned++;
    else if (!verifyWebhookSignature(this.secret, body, header)) this.counts.badSignature++;
    else this.counts.delivered++;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
