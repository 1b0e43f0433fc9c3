// IAM at the protocol boundary, for tests: short-lived role credentials (served to processes by the IMDS
// stand-in in instance-metadata.ts) and the check AWS makes of an IAM auth token — an RDS `rds-db:connect`
// token or an ElastiCache `connect` token is a SigV4-presigned URL; the service recomputes the signature with
// the signer's secret key, refuses it after X-Amz-Expires, and asks IAM whether that principal may connect as
// that user. The processes under test sign with the real SDK; only the verifying side is stood in.
import { randomBytes } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

interface IssuedCredentials extends RoleCredentials {
  role: string;
  revoked: boolean;
}

/** The two services whose IAM auth tokens Cyphr signs. */
export type TokenService = 'rds-db' | 'elasticache';

export type TokenCheck = { ok: true; role: string; user: string; accessKeyId: string } | { ok: false; reason: string };

/** The longest an IAM auth token lives (RDS and ElastiCache both cap X-Amz-Expires at 15 minutes). */
const MAX_TOKEN_SECONDS = 900;
/** SigV4 tolerates this much clock skew for a date in the future. */
const MAX_SKEW_SECONDS = 300;

export class CredentialStore {
  private readonly issued = new Map<string, IssuedCredentials>();
  private readonly current = new Map<string, IssuedCredentials>();
  private readonly grants = new Map<string, Set<string>>();
  /** Tokens dated before this instant count as expired: a test's way to let 15 minutes pass for tokens already out. */
  private notBefore = 0;

  /**
   * @param credentialLifetimeMs how long issued credentials claim to last. The SDK's signers refresh credentials
   *   that expire within 15 minutes (rds-signer) or 5 minutes (provider chain), so short lifetimes make a
   *   rotation visible at once.
   */
  constructor(private readonly credentialLifetimeMs = 10 * 60_000) {}

  /** IAM policy in one line: `role` may connect to `service` as `user` (rds-db:connect / elasticache:Connect). */
  allow(role: string, service: TokenService, user: string): this {
    const key = `${role}|${service}`;
    if (!this.grants.has(key)) this.grants.set(key, new Set());
    this.grants.get(key)!.add(user);
    return this;
  }

  /** The role's current credentials, issuing the first set on demand (what IMDS serves). */
  credentialsFor(role: string): RoleCredentials {
    const existing = this.current.get(role);
    if (existing && !existing.revoked && existing.expiration.getTime() > Date.now() + 60_000) return existing;
    return this.rotate(role, { revokePrevious: false });
  }

  /** New credentials for the role; the previous ones stop working at once unless `revokePrevious` is false. */
  rotate(role: string, options: { revokePrevious?: boolean } = {}): RoleCredentials {
    const previous = this.current.get(role);
    if (previous && options.revokePrevious !== false) previous.revoked = true;
    const credentials: IssuedCredentials = {
      role,
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      expiration: new Date(Date.now() + this.credentialLifetimeMs),
      revoked: false,
    };
    this.issued.set(credentials.accessKeyId, credentials);
    this.current.set(role, credentials);
    return credentials;
  }

  /** Every token signed so far is now past its 15 minutes; tokens signed from the next second on are fine. */
  expireIssuedTokens(): void {
    this.notBefore = Math.floor(Date.now() / 1000) * 1000 + 1000;
  }

  /**
   * Checks an IAM auth token as the service would: `host[:port]/?Action=connect&DBUser|User=...&X-Amz-...`.
   * `host` is what the token must be for (the DB endpoint `host:port`, or the ElastiCache replication group id).
   */
  async verifyPresignedToken(token: string, expected: { service: TokenService; host: string }): Promise<TokenCheck> {
    let url: URL;
    try {
      url = new URL(`https://${token}`);
    } catch {
      return { ok: false, reason: 'not a presigned URL' };
    }
    const params = url.searchParams;
    const userParam = expected.service === 'rds-db' ? 'DBUser' : 'User';
    const user = params.get(userParam);
    if (params.get('Action') !== 'connect' || !user)
      return { ok: false, reason: `Action=connect and ${userParam} required` };
    if (url.host !== expected.host) return { ok: false, reason: `token is for ${url.host}, not ${expected.host}` };
    const [accessKeyId, day, region, service, terminator] = (params.get('X-Amz-Credential') ?? '').split('/');
    if (service !== expected.service || terminator !== 'aws4_request')
      return { ok: false, reason: `credential scope is not ${expected.service}` };
    const credentials = this.issued.get(accessKeyId);
    if (!credentials) return { ok: false, reason: 'unknown access key' };
    if (credentials.revoked) return { ok: false, reason: 'access key revoked' };

    const signedAt = parseAmzDate(params.get('X-Amz-Date') ?? '');
    const expiresIn = Number(params.get('X-Amz-Expires'));
    if (!signedAt || !day || !signedAt.toISOString().replace(/-/g, '').startsWith(day))
      return { ok: false, reason: 'bad X-Amz-Date' };
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_TOKEN_SECONDS)
      return { ok: false, reason: `X-Amz-Expires must be 1..${MAX_TOKEN_SECONDS}` };
    const now = Date.now();
    if (signedAt.getTime() > now + MAX_SKEW_SECONDS * 1000) return { ok: false, reason: 'signed in the future' };
    if (signedAt.getTime() + expiresIn * 1000 < now || signedAt.getTime() < this.notBefore)
      return { ok: false, reason: 'token expired' };

    const query: Record<string, string> = {};
    for (const [name, value] of params) if (!name.startsWith('X-Amz-')) query[name] = value;
    const signer = new SignatureV4({ service, region, credentials, sha256: Hash.bind(null, 'sha256') });
    const resigned = await signer.presign(
      {
        method: 'GET',
        protocol: expected.service === 'rds-db' ? 'https:' : 'http:',
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query,
        headers: { host: url.host },
      },
      { signingDate: signedAt, expiresIn },
    );
    if (resigned.query?.['X-Amz-Signature'] !== params.get('X-Amz-Signature'))
      return { ok: false, reason: 'signature does not match' };
    if (!this.grants.get(`${credentials.role}|${expected.service}`)?.has(user))
      return { ok: false, reason: `${credentials.role} may not connect as ${user}` };
    return { ok: true, role: credentials.role, user, accessKeyId };
  }
}

/** 20250102T030405Z → Date */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
}
