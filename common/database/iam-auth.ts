import { Signer } from '@aws-sdk/rds-signer';

type SignerCredentials = NonNullable<ConstructorParameters<typeof Signer>[0]>['credentials'];

export interface IamPasswordOptions {
  hostname: string;
  port: number;
  username: string;
  region: string;
  /** @default the SDK's default chain (on EC2: the instance role through IMDS) */
  credentials?: SignerCredentials;
}

/**
 * A `pg` password function: pg calls it for every new connection, so each login presents a freshly signed
 * RDS IAM token (valid 15 minutes) and a pool outlives any one token. Signing is local; the only remote call
 * is the credential provider's, which caches the role credentials until shortly before they expire.
 */
export function rdsIamPassword(options: IamPasswordOptions): () => Promise<string> {
  const signer = new Signer(options);
  return () => signer.getAuthToken();
}
