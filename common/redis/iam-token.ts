import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** ElastiCache refuses IAM tokens older than 15 minutes; it checks them only at AUTH (connect or re-AUTH). */
export const TOKEN_EXPIRES_SECONDS = 900;

export interface ElastiCacheIamOptions {
  /** The replication group id (cyphr-<env>-redis): ElastiCache checks the token is for this cache. */
  cacheName: string;
  /** The ElastiCache user id == user name the process AUTHs as (cyphr-<env>-api). */
  user: string;
  region: string;
  /** @default the SDK's default chain (on EC2: the instance role from IMDS, refreshed before it expires) */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

let instanceRole: AwsCredentialIdentityProvider | undefined;
/** One default chain per process: every connection's signer shares its cached, auto-refreshed role credentials. */
const defaultCredentials = () => (instanceRole ??= defaultProvider());

/**
 * Returns a signer of ElastiCache IAM auth tokens ("Authenticating with IAM" in the ElastiCache user guide): a
 * SigV4-presigned `GET http://<cacheName>/?Action=connect&User=<user>` for the service `elasticache`, valid
 * 900 s, given to AUTH as the password without its `http://`. Signing is local (no AWS call) once the role's
 * credentials are cached, so a token can be made for every connection.
 */
export function elastiCacheTokenSigner(options: ElastiCacheIamOptions): (signingDate?: Date) => Promise<string> {
  const signer = new SignatureV4({
    service: 'elasticache',
    region: options.region,
    credentials: options.credentials ?? defaultCredentials(),
    sha256: Hash.bind(null, 'sha256'),
  });
  return async (signingDate = new Date()) => {
    const signed = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: options.cacheName,
        path: '/',
        query: { Action: 'connect', User: options.user },
        headers: { host: options.cacheName },
      },
      { expiresIn: TOKEN_EXPIRES_SECONDS, signingDate },
    );
    const query = Object.entries(signed.query ?? {})
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
      .join('&');
    return `${options.cacheName}/?${query}`;
  };
}
