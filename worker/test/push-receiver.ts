import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../notifications/webhook-signature';

/** One request as a push gateway would see it: the body parsed, and whether its signature held. */
export interface ReceivedPush {
  body: Record<string, unknown>;
  verified: boolean;
}

/**
 * A push gateway stand-in on loopback: verifies each request's signature with the shared secret as the README's
 * recipe says, records it, and answers 200 only when it verified (401 otherwise, which the worker drops).
 */
export class PushReceiver {
  readonly received: ReceivedPush[] = [];
  private readonly server: Server;
  url = '';

  constructor(private readonly secret: string) {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let text = '';
      req.on('data', (chunk) => (text += chunk));
      req.on('end', () => {
        const header = req.headers[SIGNATURE_HEADER];
        const verified = verifyWebhookSignature(this.secret, text, typeof header === 'string' ? header : undefined);
        this.received.push({ body: JSON.parse(text) as Record<string, unknown>, verified });
        res.writeHead(verified ? 200 : 401).end();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/push`;
    return this;
  }

  /** Pushes to one of the given tokens so far. */
  to(tokens: string[]): ReceivedPush[] {
    return this.received.filter((push) => tokens.includes(push.body.token as string));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
