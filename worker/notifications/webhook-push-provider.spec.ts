import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { PushNotification } from './push-provider';
import { WebhookPushProvider } from './webhook-push-provider';

const notification: PushNotification = {
  kind: 'message',
  userId: '2f1c8a52-0000-4000-8000-000000000001',
  conversationId: '2f1c8a52-0000-4000-8000-000000000002',
  messageId: '2f1c8a52-0000-4000-8000-000000000003',
  createdAt: '2026-01-01T00:00:00.000Z',
};

/** A local HTTP endpoint that answers with the next scripted behaviour per request. */
class FakeGateway {
  readonly requests: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  private server: Server;
  url = '';

  constructor(private readonly script: Array<number | 'hang'>) {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body });
        const next = this.script.shift() ?? 200;
        if (next === 'hang') return; // never answers: the client's timeout must fire
        res.writeHead(next);
        res.end();
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/push`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('WebhookPushProvider', () => {
  let gateway: FakeGateway;
  const provider = (options: Partial<ConstructorParameters<typeof WebhookPushProvider>[0]> = {}) =>
    new WebhookPushProvider({ url: gateway.url, timeoutMs: 300, attempts: 3, backoffMs: 10, ...options });

  afterEach(async () => gateway.stop());

  it('posts the notification as JSON, ids only, signed when a secret is set', async () => {
    gateway = new FakeGateway([200]);
    await gateway.start();
    await expect(provider({ secret: 'hook-secret' }).send(notification)).resolves.toBe('delivered');
    const [request] = gateway.requests;
    expect(JSON.parse(request.body)).toEqual({ type: 'message', ...notification });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-cyphr-signature']).toBe(
      `sha256=${createHmac('sha256', 'hook-secret').update(request.body).digest('hex')}`,
    );
  });

  it('retries 5xx, 429 and timeouts, then succeeds', async () => {
    gateway = new FakeGateway([503, 'hang', 200]);
    await gateway.start();
    await expect(provider().send(notification)).resolves.toBe('delivered');
    expect(gateway.requests).toHaveLength(3);
  });

  it('gives up after the configured attempts with the last error (the queue retries later)', async () => {
    gateway = new FakeGateway([500, 429, 502]);
    await gateway.start();
    await expect(provider().send(notification)).rejects.toThrow('webhook answered 502');
    expect(gateway.requests).toHaveLength(3);
  });

  it('drops a notification the gateway refuses for good (4xx) without retrying', async () => {
    gateway = new FakeGateway([410]);
    await gateway.start();
    await expect(provider().send(notification)).resolves.toBe('dropped');
    expect(gateway.requests).toHaveLength(1);
  });
});
