// A Secrets Manager stand-in at the protocol boundary: an HTTP server speaking the service's JSON 1.1
// protocol (`X-Amz-Target: secretsmanager.<Action>`), so the real AWS SDK (AWS_ENDPOINT_URL_SECRETS_MANAGER)
// and the real Terraform AWS provider (`endpoints { secretsmanager = ... }`) talk to it unchanged.
// Loopback only. Covers the actions Cyphr and its stack use; anything else answers 400 with the action named.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { listenOnLoopback } from './loopback';

export interface SecretVersion {
  versionId: string;
  value: string;
  stages: string[];
  createdAt: Date;
}

interface StoredSecret {
  arn: string;
  name: string;
  versions: SecretVersion[];
}

/** One request as the server saw it: which action, on which secret, signed by which access key. */
export interface SecretsManagerCall {
  action: string;
  secretId?: string;
  accessKeyId?: string;
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const ACCOUNT = '123456789012';
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const ALPHABETS = { lower: 'abcdefghijklmnopqrstuvwxyz', upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', digits: '0123456789' };

export class SecretsManagerStandIn {
  /** Every request in order; tests read it to see who fetched what. */
  readonly calls: SecretsManagerCall[] = [];
  /** Every value GetRandomPassword handed out (tests check none of them ends up in a Terraform plan). */
  readonly randomPasswords: string[] = [];
  private readonly secrets = new Map<string, StoredSecret>();

  private constructor(
    private readonly server: Server,
    readonly region: string,
  ) {}

  /** Starts on 127.0.0.1 (port 0: any free port). */
  static async start(options: { port?: number; region?: string } = {}): Promise<SecretsManagerStandIn> {
    const server = createServer();
    const standIn = new SecretsManagerStandIn(server, options.region ?? 'us-east-1');
    server.on('request', (req, res) => void standIn.handle(req, res));
    await listenOnLoopback(server, options.port);
    return standIn;
  }

  /** e.g. http://127.0.0.1:41234 */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Creates a secret (as Terraform's aws_secretsmanager_secret would), optionally with a first value; returns its ARN. */
  create(name: string, value?: string): string {
    const arn = `arn:aws:secretsmanager:${this.region}:${ACCOUNT}:secret:${name}-${randomBytes(3).toString('hex')}`;
    this.secrets.set(arn, { arn, name, versions: [] });
    if (value !== undefined) this.put(arn, value);
    return arn;
  }

  /** Puts a new current version (the previous one becomes AWSPREVIOUS), as PutSecretValue does. */
  put(secretId: string, value: string): SecretVersion {
    const secret = this.find(secretId);
    for (const version of secret.versions) {
      version.stages = version.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
    }
    const version = { versionId: randomUUID(), value, stages: ['AWSCURRENT'], createdAt: new Date() };
    secret.versions.push(version);
    return version;
  }

  /** The current value, or undefined while the secret has none. */
  current(secretId: string): string | undefined {
    return this.find(secretId).versions.find((v) => v.stages.includes('AWSCURRENT'))?.value;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private find(secretId: string): StoredSecret {
    const secret = this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.name === secretId);
    if (!secret)
      throw new ServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret.`);
    return secret;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : target;
    const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    try {
      const input = (chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}) as Record<
        string,
        unknown
      >;
      this.calls.push({ action, secretId: input.SecretId as string | undefined, accessKeyId });
      answer(200, this.dispatch(action, input));
    } catch (error) {
      if (error instanceof ServiceError) answer(400, { __type: error.type, message: error.message });
      else answer(500, { __type: 'InternalServiceError', message: String(error) });
    }
  }

  private dispatch(action: string, input: Record<string, unknown>): unknown {
    const describe = (secret: StoredSecret) => ({ ARN: secret.arn, Name: secret.name });
    switch (action) {
      case 'GetRandomPassword': {
        const password = randomPassword(input);
        this.randomPasswords.push(password);
        return { RandomPassword: password };
      }
      case 'CreateSecret': {
        const arn = this.create(String(input.Name), input.SecretString as string | undefined);
        const secret = this.find(arn);
        return { ...describe(secret), VersionId: secret.versions.at(-1)?.versionId };
      }
      case 'DescribeSecret':
        return describe(this.find(String(input.SecretId)));
      case 'GetSecretValue': {
        const secret = this.find(String(input.SecretId));
        const stage = (input.VersionStage as string | undefined) ?? 'AWSCURRENT';
        const version = input.VersionId
          ? secret.versions.find((v) => v.versionId === input.VersionId)
          : secret.versions.find((v) => v.stages.includes(stage));
        if (!version)
          throw new ServiceError(
            'ResourceNotFoundException',
            `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
          );
        return {
          ...describe(secret),
          VersionId: version.versionId,
          SecretString: version.value,
          VersionStages: version.stages,
          CreatedDate: version.createdAt.getTime() / 1000,
        };
      }
      case 'PutSecretValue': {
        const secret = this.find(String(input.SecretId));
        if (typeof input.SecretString !== 'string')
          throw new ServiceError('InvalidParameterException', 'SecretString is required');
        const version = this.put(secret.arn, input.SecretString);
        return { ...describe(secret), VersionId: version.versionId, VersionStages: version.stages };
      }
      default:
        throw new ServiceError('InvalidRequestException', `the stand-in does not implement ${action}`);
    }
  }
}

/** GetRandomPassword's rules: length (default 32), excluded characters and classes, one of each class required. */
function randomPassword(input: Record<string, unknown>): string {
  const length = Number(input.PasswordLength ?? 32);
  if (!Number.isInteger(length) || length < 1 || length > 4096)
    throw new ServiceError('InvalidParameterException', 'PasswordLength must be between 1 and 4096');
  const excluded = new Set(String(input.ExcludeCharacters ?? ''));
  const classes = [
    input.ExcludeLowercase ? '' : ALPHABETS.lower,
    input.ExcludeUppercase ? '' : ALPHABETS.upper,
    input.ExcludeNumbers ? '' : ALPHABETS.digits,
    input.ExcludePunctuation ? '' : PUNCTUATION,
  ]
    .map((alphabet) => [...alphabet].filter((c) => !excluded.has(c)).join(''))
    .filter((alphabet) => alphabet.length > 0);
  if (input.IncludeSpace) classes.push(' ');
  const all = classes.join('');
  if (all.length === 0) throw new ServiceError('InvalidParameterException', 'every character is excluded');
  const pick = (alphabet: string) => alphabet[randomBytes(4).readUInt32BE() % alphabet.length];
  const chars = Array.from({ length }, () => pick(all));
  if (input.RequireEachIncludedType !== false && length >= classes.length) {
    classes.forEach((alphabet, i) => (chars[i] = pick(alphabet)));
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomBytes(4).readUInt32BE() % (i + 1);
      [chars[i], chars[j]] = [chars[j], chars[i]];
    }
  }
  return chars.join('');
}
