import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DatabaseSettings } from './environment';

/** Credentials a process needs, resolved once at start-up. Never logged, never written to disk. */
export interface ResolvedSecrets {
  /** User name and password for PostgreSQL when the URL does not carry them (a password secret, DATABASE_AUTH=password; the AWS path signs IAM tokens instead). */
  database?: { username: string; password: string };
  /** The API's JWT keyring (see server/auth/jwt-keyring.ts); absent for the worker and the migration. */
  jwtKeys?: ReloadableSecret;
  redisAuthToken?: string;
  /** The worker's webhook signing key (PUSH_WEBHOOK_SECRET locally, PUSH_WEBHOOK_SECRET_ARN on AWS). */
  pushWebhookSecret?: string;
}

/** A secret's value at start-up and, when it lives in Secrets Manager, how to read its current version again. */
export interface ReloadableSecret {
  value: string;
  reload?: () => Promise<string>;
}

/** The secret references a role's settings may carry; each role class declares the ones it has. */
export type SecretReferences = Pick<
  DatabaseSettings,
  'AWS_REGION' | 'DATABASE_URL' | 'DATABASE_SECRET_ARN' | 'DATABASE_AUTH'
> & {
  JWT_SECRET?: string;
  JWT_SECRET_ARN?: string;
  REDIS_AUTH_SECRET_ARN?: string;
  PUSH_WEBHOOK_SECRET?: string;
  PUSH_WEBHOOK_SECRET_ARN?: string;
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

/** A secret holding `{"username", "password"}` (an RDS master secret's shape). */
export async function readDatabaseLogin(
  arn: string,
  read: SecretReader,
): Promise<{ username: string; password: string }> {
  const parsed = JSON.parse(await read(arn)) as { username?: string; password?: string };
  if (!parsed.username || !parsed.password) throw new Error(`Secret ${arn} lacks username or password`);
  return { username: parsed.username, password: parsed.password };
}

/**
 * Local runs keep secrets in the environment; on AWS the environment carries only ARNs and the
 * values are fetched here. Secrets given directly win over ARNs.
 */
export async function resolveSecrets(
  env: SecretReferences,
  read: SecretReader = secretsManagerReader(env.AWS_REGION),
): Promise<ResolvedSecrets> {
  const secrets: ResolvedSecrets = { jwtKeys: await resolveJwtKeys(env, read) };
  // With IAM logins there is no database password to fetch: each connection signs its own token.
  if (env.DATABASE_SECRET_ARN && !env.DATABASE_URL && env.DATABASE_AUTH !== 'iam') {
    secrets.database = await readDatabaseLogin(env.DATABASE_SECRET_ARN, read);
  }
  if (env.REDIS_AUTH_SECRET_ARN) secrets.redisAuthToken = await read(env.REDIS_AUTH_SECRET_ARN);
  if (env.PUSH_WEBHOOK_SECRET) secrets.pushWebhookSecret = env.PUSH_WEBHOOK_SECRET;
  else if (env.PUSH_WEBHOOK_SECRET_ARN) secrets.pushWebhookSecret = await read(env.PUSH_WEBHOOK_SECRET_ARN);
  return secrets;
}

/**
 * JWT_SECRET (local runs) is the keyring itself and never changes; JWT_SECRET_ARN is read now and again whenever
 * the keyring asks (its refresh timer, or a token naming a key it does not know yet).
 */
export async function resolveJwtKeys(
  env: Pick<SecretReferences, 'JWT_SECRET' | 'JWT_SECRET_ARN'>,
  read: SecretReader,
): Promise<ReloadableSecret | undefined> {
  if (env.JWT_SECRET) return { value: env.JWT_SECRET };
  const arn = env.JWT_SECRET_ARN;
  if (!arn) return undefined;
  const reload = () => read(arn);
  return { value: await reload(), reload };
}
