import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DatabaseSettings } from './environment';

/** Credentials a process needs, resolved once at start-up. Never logged, never written to disk. */
export interface ResolvedSecrets {
  /** User name and password for PostgreSQL when the URL does not carry them (AWS: the RDS-managed secret). */
  database?: { username: string; password: string };
  jwtSecret?: string;
  redisAuthToken?: string;
}

/** The secret references a role's settings may carry; each role class declares the ones it has. */
export type SecretReferences = Pick<DatabaseSettings, 'AWS_REGION' | 'DATABASE_URL' | 'DATABASE_SECRET_ARN'> & {
  JWT_SECRET?: string;
  JWT_SECRET_ARN?: string;
  REDIS_AUTH_SECRET_ARN?: string;
};

export type SecretReader = (arn: string) => Promise<string>;

/** Reads a secret string from Secrets Manager through the instance role's credentials. */
export function secretsManagerReader(region: string): SecretReader {
  const client = new SecretsManagerClient({ region });
  return async (arn) => {
    const result = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!result.SecretString) throw new Error(`Secret ${arn} has no string value`);
    return result.SecretString;
  };
}

/**
 * Local runs keep secrets in the environment; on AWS the environment carries only ARNs and the
 * values are fetched here. Secrets given directly win over ARNs.
 */
export async function resolveSecrets(
  env: SecretReferences,
  read: SecretReader = secretsManagerReader(env.AWS_REGION),
): Promise<ResolvedSecrets> {
  const secrets: ResolvedSecrets = { jwtSecret: env.JWT_SECRET };
  if (!secrets.jwtSecret && env.JWT_SECRET_ARN) secrets.jwtSecret = await read(env.JWT_SECRET_ARN);
  if (env.DATABASE_SECRET_ARN && !env.DATABASE_URL) {
    const parsed = JSON.parse(await read(env.DATABASE_SECRET_ARN)) as { username?: string; password?: string };
    if (!parsed.username || !parsed.password)
      throw new Error(`Secret ${env.DATABASE_SECRET_ARN} lacks username or password`);
    secrets.database = { username: parsed.username, password: parsed.password };
  }
  if (env.REDIS_AUTH_SECRET_ARN) secrets.redisAuthToken = await read(env.REDIS_AUTH_SECRET_ARN);
  return secrets;
}
