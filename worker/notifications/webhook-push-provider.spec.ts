import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { PushNotification } from './push-provider';
import { WebhookPushProvider, webhookUrlProblem } from './webhook-push-provider';
import { verifyWebhookSignature } from './webhook-signature';

const notification: PushNotification = {
  kind: 'wake',
  provider: 'fcm',
  token: 'fcm-token-0123456789abcdefghijklmnopqrstuvwxyz',
  conversationId: '2f1c8a52-0000-4000-8000-000000000002',
};
const SECRET = 'hook-secret-0123456789abcdef0123456789';

/** A local HTTP endpoint that answers with the next scripted behaviour per request. */
class FakeGateway {
  readonly requests: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  private server: Server;
  url = '';

  constructor(private readonly script: Array<number | 'hang' | { redirect: string }>) {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body });
        const next = this.script.shift() ?? 200;
        if (next === 'hang') return; // never answers: the client's timeout must fire
        if (typeof next === 'object') res.writeHead(302, { location: next.redirect });
        else res.writeHead(next);
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
    new WebhookPushProvider({
      url: gateway.url,
      secret: SECRET,
      timeoutMs: 300,
      attempts: 3,
      backoffMs: 10,
      ...options,
    });

  afterEach(async () => gateway.stop());

  it('posts the wake-up as JSON with a timestamped signature the recipe verifies', async () => {
    gateway = new FakeGateway([200]);
    await gateway.start();
    await expect(provider().send(notification)).resolves.toBe('delivered');
    const [request] = gateway.requests;
    expect(JSON.parse(request.body)).toEqual({
      type: 'wake',
      provider: 'fcm',
      token: notification.token,
      conversationId: notification.conversationId,
    });
    expect(request.headers['content-type']).toBe('application/json');
    const header = request.headers['x-cyphr-signature'] as string;
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header)!;
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(5);
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${request.body}`).digest('hex'));
    expect(verifyWebhookSignature(SECRET, request.body, header)).toBe(true);
    expect(verifyWebhookSignature('another-secret', request.body, header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, request.body.replace('wake', 'wakE'), header)).toBe(false);
    // Outside the tolerance window the same request is a replay.
    expect(verifyWebhookSignature(SECRET, request.body, header, Date.now() + 301_000)).toBe(false);
  });

  it('refuses a redirect at once: a 3xx fails the push and the Location is never requested', async () => {
    const elsewhere = new FakeGateway([200]);
    await elsewhere.start();
    gateway = new FakeGateway([{ redirect: elsewhere.url }]);
    await gateway.start();
    await expect(provider().send(notification)).rejects.toThrow('redirects are refused');
    expect(gateway.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    await elsewhere.stop();
  });

  it('refuses plain http to anything but loopback, and a missing secret', () => {
    expect(webhookUrlProblem('https://push.example.com/hook')).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:8080/hook')).toBeUndefined();
    expect(webhookUrlProblem('http://push.example.com/hook')).toMatch(/must be https/);
    expect(
      () => new WebhookPushProvider({ url: 'http://10.0.0.1/', secret: SECRET, timeoutMs: 1, attempts: 1 }),
    ).toThrow(/must be https/);
    expect(() => new WebhookPushProvider({ url: 'https://x.example/', secret: '', timeoutMs: 1, attempts: 1 })).toThrow(
      /signing secret/,
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

  it('reports a token the gateway calls gone (410) as invalid, without retrying', async () => {
    gateway = new FakeGateway([410]);
    await gateway.start();
    await expect(provider().send(notification)).resolves.toBe('token-invalid');
    expect(gateway.requests).toHaveLength(1);
  });

  it('drops a notification the gateway refuses for good (4xx) without retrying', async () => {
    gateway = new FakeGateway([400]);
    await gateway.start();
    await expect(provider().send(notification)).resolves.toBe('dropped');
    expect(gateway.requests).toHaveLength(1);
  });
});
