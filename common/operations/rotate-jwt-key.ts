/**
 * Rotates the API's JWT signing keys without logging anyone out:
 *   npm run rotate-jwt-key -- --secret-id <arn or name> [--region <region>]
 * Reads the current keyring, puts a new version whose first key is new (64 random bytes, a new kid) and whose
 * second is the key that signed until now; older keys are dropped. Tokens signed before stay valid (they live 15
 * minutes), instances pick the new key up within JWT_KEYS_REFRESH_SECONDS, and an instance that has not yet accepts
 * the new kid at once (it re-reads the keyring on an unknown kid). Run it no more often than the token lifetime,
 * or tokens signed by the dropped key end early.
 */
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { formatKeyring, JwtKeyBytes, parseKeyring } from '../config/jwt-keys';

export const NEW_KEY_BYTES = 64;

/** e.g. 20261130T0424Z-3f9a1c: sorts by time, unique enough for two rotations in one minute. */
export function newKid(now = new Date()): string {
  const stamp = now.toISOString().slice(0, 16).replace(/[-:]/g, '');
  return `${stamp}Z-${randomBytes(3).toString('hex')}`;
}

/** The next keyring: a new signing key first, the current signing key second. */
export function rotatedKeyring(current: string, now = new Date()): { value: string; kid: string; previous: string } {
  const [signing] = parseKeyring(current, 'current keyring');
  const next: JwtKeyBytes = { kid: newKid(now), secret: randomBytes(NEW_KEY_BYTES) };
  return { value: formatKeyring([next, signing]), kid: next.kid, previous: signing.kid };
}

export async function rotateJwtKey(
  secretId: string,
  client: SecretsManagerClient,
): Promise<{ kid: string; previous: string; versionId?: string }> {
  const current = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!current.SecretString) throw new Error(`Secret ${secretId} has no string value`);
  const { value, kid, previous } = rotatedKeyring(current.SecretString);
  const put = await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  return { kid, previous, versionId: put.VersionId };
}

function argument(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  const secretId = argument(args, '--secret-id');
  if (!secretId) throw new Error('usage: npm run rotate-jwt-key -- --secret-id <arn or name> [--region <region>]');
  const region = argument(args, '--region') ?? process.env.AWS_REGION;
  const client = new SecretsManagerClient(region ? { region } : {});
  const { kid, previous, versionId } = await rotateJwtKey(secretId, client);
  // Key ids only; never the key material.
  console.log(`rotated ${secretId}: signing with ${kid}, still accepting ${previous} (version ${versionId ?? '?'})`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`rotate-jwt-key: ${error.message}`);
    process.exit(1);
  });
}
