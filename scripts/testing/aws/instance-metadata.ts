// An EC2 instance metadata service (IMDSv2) stand-in for one instance role: the real AWS SDK's default
// credential chain reaches it through AWS_EC2_METADATA_SERVICE_ENDPOINT and gets short-lived credentials from a
// CredentialStore, exactly as an instance with that role would. Loopback only; IMDSv1 (no session token) is refused.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { CredentialStore } from './iam';
import { listenOnLoopback } from './loopback';

export interface InstanceMetadataOptions {
  /** The instance profile's role name (the path segment the SDK reads). */
  role: string;
  credentials: CredentialStore;
  instanceId?: string;
  region?: string;
  port?: number;
}

const CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials/';

export class InstanceMetadataStandIn {
  readonly instanceId: string;
  /** Credential fetches served, for tests that check a process refreshed them. */
  credentialFetches = 0;
  private readonly sessions = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    private readonly options: InstanceMetadataOptions,
  ) {
    this.instanceId = options.instanceId ?? `i-${randomBytes(8).toString('hex').slice(0, 17)}`;
  }

  static async start(options: InstanceMetadataOptions): Promise<InstanceMetadataStandIn> {
    const server = createServer();
    const standIn = new InstanceMetadataStandIn(server, options);
    server.on('request', (req, res) => standIn.handle(req, res));
    await listenOnLoopback(server, options.port);
    return standIn;
  }

  /** The value for AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(body);
    };
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'PUT' && path === '/latest/api/token') {
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21_600) return send(400, 'bad token TTL');
      const token = randomBytes(32).toString('base64');
      this.sessions.set(token, Date.now() + ttl * 1000);
      return send(200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
    }
    const token = String(req.headers['x-aws-ec2-metadata-token'] ?? '');
    if ((this.sessions.get(token) ?? 0) < Date.now()) return send(401, 'IMDSv2 session token required');
    if (req.method !== 'GET') return send(405, 'method not allowed');

    if (path === CREDENTIALS_PATH) return send(200, this.options.role);
    if (path === `${CREDENTIALS_PATH}${this.options.role}`) {
      this.credentialFetches++;
      const c = this.options.credentials.credentialsFor(this.options.role);
      return send(
        200,
        JSON.stringify({
          Code: 'Success',
          LastUpdated: new Date().toISOString(),
          Type: 'AWS-HMAC',
          AccessKeyId: c.accessKeyId,
          SecretAccessKey: c.secretAccessKey,
          Token: c.sessionToken,
          Expiration: c.expiration.toISOString(),
        }),
        { 'content-type': 'application/json' },
      );
    }
    if (path === '/latest/meta-data/instance-id') return send(200, this.instanceId);
    if (path === '/latest/meta-data/placement/region') return send(200, this.options.region ?? 'us-east-1');
    if (path === '/latest/dynamic/instance-identity/document') {
      return send(200, JSON.stringify({ instanceId: this.instanceId, region: this.options.region ?? 'us-east-1' }), {
        'content-type': 'application/json',
      });
    }
    send(404, 'not found');
  }
}
