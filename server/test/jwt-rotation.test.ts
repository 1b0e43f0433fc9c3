import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { formatKeyring, parseKeyring } from '../../common/config/jwt-keys';
import { rotateJwtKey } from '../../common/operations/rotate-jwt-key';
import { SecretsManagerStandIn } from '../../scripts/testing/aws/secrets-manager';
import { JwtKeyring, tokenKid, UNKNOWN_KID_REFRESH_MS } from '../auth/jwt-keyring';
import type { ServerApp } from '../bootstrap';
import { call, register, sleep, startServer } from './helpers';

jest.setTimeout(60_000);

/**
 * Two API instances reading one keyring by ARN from a Secrets Manager stand-in, as on AWS; an operator rotates it
 * with the rotation tool while clients keep calling both instances.
 */
describe('JWT keyring rotation across instances', () => {
  let secrets: SecretsManagerStandIn;
  let arn: string;
  let a: ServerApp;
  let b: ServerApp;
  let startedAt: number;
  const saved = { ...process.env };

  beforeAll(async () => {
    secrets = await SecretsManagerStandIn.start();
    arn = secrets.create('cyphr-test/jwt-signing-keys', formatKeyring([{ kid: 'first', secret: randomBytes(64) }]));
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDTESTJWTROTATION';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret';
    delete process.env.AWS_SESSION_TOKEN;
    // By ARN only (JWT_SECRET from the local env file would win); no timer refresh during the test.
    const env = { JWT_SECRET: undefined, JWT_SECRET_ARN: arn, JWT_KEYS_REFRESH_SECONDS: '3600' };
    [a, b] = await Promise.all([startServer({ env }), startServer({ env })]);
    startedAt = Date.now();
  });

  afterAll(async () => {
    await Promise.all([a?.shutdown(), b?.shutdown()]);
    await secrets?.close();
    process.env = saved;
  });

  const keyring = (app: ServerApp) => app.app.get(JwtKeyring);
  const me = async (app: ServerApp, token: string) => (await call(app.url, 'GET', '/v1/users/me', { token })).status;
  const reads = () => secrets.calls.filter((c) => c.action === 'GetSecretValue' && c.secretId === arn).length;

  it('rotation logs nobody out, and each instance accepts the other’s newer key at once', async () => {
    expect([keyring(a).signingKid, keyring(b).signingKid]).toEqual(['first', 'first']);
    const user = await register(a.url, 'rot');
    expect(tokenKid(user.token)).toBe('first');
    expect([await me(a, user.token), await me(b, user.token)]).toEqual([200, 200]);

    // Clients keep calling both instances with the pre-rotation token throughout.
    const statuses: number[] = [];
    let calling = true;
    const traffic = (async () => {
      while (calling) statuses.push(await me(a, user.token), await me(b, user.token));
    })();

    const client = new SecretsManagerClient({ region: 'us-east-1' });
    const { kid, previous } = await rotateJwtKey(arn, client);
    expect(previous).toBe('first');
    expect(parseKeyring(secrets.current(arn)!).map((key) => key.kid)).toEqual([kid, 'first']);

    // A refreshes first (its timer), B has not yet.
    await keyring(a).refresh();
    expect(keyring(a).signingKid).toBe(kid);
    expect(keyring(b).signingKid).toBe('first');

    // B re-reads on an unknown kid at most every 5 s; its last read was at start-up.
    await sleep(Math.max(0, startedAt + UNKNOWN_KID_REFRESH_MS - Date.now()));
    const login = await call(a.url, 'POST', '/v1/auth/login', {
      body: { username: user.username, password: user.password },
    });
    expect(login.status).toBe(200);
    const fresh = login.body.accessToken as string;
    expect(tokenKid(fresh)).toBe(kid);
    const readsBefore = reads();
    expect(await me(b, fresh)).toBe(200);
    expect(reads()).toBe(readsBefore + 1); // one read, on demand
    expect(keyring(b).signingKid).toBe(kid);

    // B now signs with the new key too, and the old token still works everywhere.
    const fromB = await call(b.url, 'POST', '/v1/auth/login', {
      body: { username: user.username, password: user.password },
    });
    expect(tokenKid(fromB.body.accessToken)).toBe(kid);
    expect([await me(a, fromB.body.accessToken), await me(a, user.token), await me(b, user.token)]).toEqual([
      200, 200, 200,
    ]);

    calling = false;
    await traffic;
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  it('refuses a token signed with a key the keyring does not hold, without re-reading it each time', async () => {
    const user = await register(b.url, 'forged');
    const [header, payload] = user.token.split('.');
    const forgedHeader = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'nobody' })).toString('base64url');
    const forged = `${forgedHeader}.${payload}.${user.token.split('.')[2]}`;
    expect(header).not.toBe(forgedHeader);
    const readsBefore = reads();
    const answers = await Promise.all(Array.from({ length: 5 }, () => me(b, forged)));
    expect(answers).toEqual([401, 401, 401, 401, 401]);
    expect(reads() - readsBefore).toBeLessThanOrEqual(1);
  });
});
