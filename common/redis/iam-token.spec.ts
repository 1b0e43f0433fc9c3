import { createHash, createHmac } from 'node:crypto';
import { elastiCacheTokenSigner, TOKEN_EXPIRES_SECONDS } from './iam-token';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session/token+with=chars',
};
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * SigV4 query-string signing written out from the AWS spec ("Authenticating Requests: Using Query Parameters"),
 * independently of @smithy/signature-v4, for the ElastiCache token request.
 */
function referencePresign(cacheName: string, user: string, region: string, date: Date): string {
  const amzDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/elasticache/aws4_request`;
  const query: Record<string, string> = {
    Action: 'connect',
    User: user,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(TOKEN_EXPIRES_SECONDS),
    'X-Amz-Security-Token': credentials.sessionToken,
    'X-Amz-SignedHeaders': 'host',
  };
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((name) => `${rfc3986(name)}=${rfc3986(query[name])}`)
    .join('&');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    `host:${cacheName}\n`,
    'host',
    createHash('sha256').update('').digest('hex'),
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 'elasticache'), 'aws4_request');
  return hmac(key, stringToSign).toString('hex');
}

describe('elastiCacheTokenSigner', () => {
  const date = new Date('2026-11-30T04:30:00Z');
  const sign = elastiCacheTokenSigner({
    cacheName: 'cyphr-prod-redis',
    user: 'cyphr-prod-api',
    region: 'eu-west-1',
    credentials,
  });

  it('is the presigned connect URL for the cache and user, without http://, valid 15 minutes', async () => {
    const token = await sign(date);
    expect(token.startsWith('cyphr-prod-redis/?')).toBe(true);
    const params = new URL(`http://${token}`).searchParams;
    expect(params.get('Action')).toBe('connect');
    expect(params.get('User')).toBe('cyphr-prod-api');
    expect(params.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261130/eu-west-1/elasticache/aws4_request');
    expect(params.get('X-Amz-Date')).toBe('20261130T043000Z');
    expect(params.get('X-Amz-Expires')).toBe('900');
    expect(params.get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
    expect(params.get('X-Amz-SignedHeaders')).toBe('host');
  });

  it('carries the SigV4 signature the AWS spec gives for that request', async () => {
    const params = new URL(`http://${await sign(date)}`).searchParams;
    expect(params.get('X-Amz-Signature')).toBe(
      referencePresign('cyphr-prod-redis', 'cyphr-prod-api', 'eu-west-1', date),
    );
  });

  it('signs anew each time (each connection gets its own, current token)', async () => {
    expect(await sign(new Date(date.getTime() + 1000))).not.toBe(await sign(date));
  });
});
