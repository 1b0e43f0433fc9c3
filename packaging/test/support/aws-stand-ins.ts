// The AWS side of the boot test, at the protocol boundary: one IMDS per instance role (each with its own
// short-lived credentials), Secrets Manager, and IAM's view of who may log in as whom. The processes under test
// use the real SDK against these through the SDK's own endpoint settings.
import { CredentialStore } from '../../../scripts/testing/aws/iam';
import { InstanceMetadataStandIn } from '../../../scripts/testing/aws/instance-metadata';
import { SecretsManagerStandIn } from '../../../scripts/testing/aws/secrets-manager';
import type { Role } from './synthesized-env';

/**
 * Below the SDK's 5-minute refresh window, so every signature reads IMDS again and a rotated or revoked key is
 * seen at the next signing (on EC2 the same happens within minutes of IAM rotating the role's keys).
 */
const CREDENTIAL_LIFETIME_MS = 4 * 60_000;

export interface AwsStandIns {
  region: string;
  credentials: CredentialStore;
  secrets: SecretsManagerStandIn;
  /** The IMDS each role's instances reach, serving that role's credentials only. */
  metadata: Record<Role, InstanceMetadataStandIn>;
  /** The IAM role name of each role's instance profile. */
  roleNames: Record<Role, string>;
  close(): Promise<void>;
}

export async function startAwsStandIns(region: string, roleNames: Record<Role, string>): Promise<AwsStandIns> {
  const credentials = new CredentialStore(CREDENTIAL_LIFETIME_MS);
  const secrets = await SecretsManagerStandIn.start({ region });
  const imds = (role: Role) => InstanceMetadataStandIn.start({ role: roleNames[role], credentials, region });
  const metadata = { api: await imds('api'), worker: await imds('worker') };
  return {
    region,
    credentials,
    secrets,
    metadata,
    roleNames,
    close: async () => {
      await Promise.all([secrets.close(), metadata.api.close(), metadata.worker.close()]);
    },
  };
}
