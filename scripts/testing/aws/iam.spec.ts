import { Signer } from '@aws-sdk/rds-signer';
import { CredentialStore } from './iam';
import { InstanceMetadataStandIn } from './instance-metadata';

// The real RDS signer, with credentials from the IMDS stand-in, against the verifying side.
describe('IAM auth tokens: the SDK signs, the stand-in verifies as RDS would', () => {
  const host = 'db.internal:5432';
  let store: CredentialStore;
  let imds: InstanceMetadataStandIn;
  const sign = (user: string, hostname = 'db.internal') =>
    new Signer({
      hostname,
      port: 5432,
      username: user,
      region: 'us-east-1',
      // No credentials given: the SDK's default chain, which on EC2 ends at the instance metadata service.
    }).getAuthToken();

  beforeEach(async () => {
    store = new CredentialStore().allow('api', 'rds-db', 'cyphr_api');
    imds = await InstanceMetadataStandIn.start({ role: 'api', credentials: store });
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.url;
  });
  afterEach(async () => {
    delete process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
    await imds.close();
  });

  it('accepts a fresh token for a user the role may connect as', async () => {
    const check = await store.verifyPresignedToken(await sign('cyphr_api'), { service: 'rds-db', host });
    expect(check).toMatchObject({ ok: true, role: 'api', user: 'cyphr_api' });
    expect(imds.credentialFetches).toBeGreaterThan(0);
  });

  it('refuses another user, another host, a tampered token, revoked keys and expired tokens', async () => {
    const verify = (token: string) => store.verifyPresignedToken(token, { service: 'rds-db', host });
    expect(await verify(await sign('cyphr_worker'))).toMatchObject({
      ok: false,
      reason: 'api may not connect as cyphr_worker',
    });
    expect(await verify(await sign('cyphr_api', 'other.internal'))).toMatchObject({ ok: false });
    const token = await sign('cyphr_api');
    expect(await verify(token.replace('DBUser=cyphr_api', 'DBUser=cyphr_worker'))).toMatchObject({ ok: false });
    // One hex digit of the signature changed (to another digit, whatever it was).
    const tampered = token.replace(
      /X-Amz-Signature=(\w)/,
      (_, digit: string) => `X-Amz-Signature=${digit === '0' ? '1' : '0'}`,
    );
    expect(tampered).not.toBe(token);
    expect(await verify(tampered)).toMatchObject({
      ok: false,
      reason: 'signature does not match',
    });

    store.expireIssuedTokens();
    expect(await verify(token)).toMatchObject({ ok: false, reason: 'token expired' });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await verify(await sign('cyphr_api'))).toMatchObject({ ok: true });

    store.rotate('api');
    expect(await verify(token)).toMatchObject({ ok: false });
    // The signer asks IMDS again (credentials expiring within 15 minutes are refreshed) and gets the new key.
    expect(await verify(await sign('cyphr_api'))).toMatchObject({ ok: true });
  });

  it('refuses IMDSv1 requests without a session token', async () => {
    const res = await fetch(`${imds.url}/latest/meta-data/iam/security-credentials/`);
    expect(res.status).toBe(401);
  });
});
