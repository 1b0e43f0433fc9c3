// The AWS side of the boot test, at the protocol boundary: one IMDS per instance role (each with its own
// short-lived credentials), Secrets Manager, RDS's check of IAM logins (behind the local PostgreSQL's pg_hba
// `ldap` line) and ElastiCache's (a TLS proxy in front of the local Redis). The processes under test use the
// real SDK and drivers against these, through the SDK's and Node's own endpoint settings.
import { CredentialStore } from '../../../scripts/testing/aws/iam';
import { ElastiCacheIamProxy } from '../../../scripts/testing/aws/elasticache-iam-proxy';
import { InstanceMetadataStandIn } from '../../../scripts/testing/aws/instance-metadata';
import { RdsIamLdapStandIn, rdsIamTokenVerifier } from '../../../scripts/testing/aws/rds-iam-ldap';
import { SecretsManagerStandIn } from '../../../scripts/testing/aws/secrets-manager';
import { createTestCertificates, type TestCertificates } from '../../../scripts/testing/tls-ca';
import type { HostPort } from './local-references';
import type { Role } from './synthesized-env';

/**
 * Below the SDK's 5-minute refresh window, so every signature reads IMDS again and a rotated or revoked key is
 * seen at the next signing (on EC2 the same happens within minutes of IAM rotating the role's keys).
 */
const CREDENTIAL_LIFETIME_MS = 4 * 60_000;

export interface AwsStandInOptions {
  region: string;
  /** The IAM role name of each role's instance profile. */
  roleNames: Record<Role, string>;
  database: {
    /** The endpoints (host:port) tokens may be signed for: the primary and the replica. */
    endpoints: string[];
    /** Where the local PostgreSQL's pg_hba sends IAM logins. */
    ldapPort: number;
  };
  redis: {
    /** The replication group id tokens must be signed for (REDIS_IAM_CACHE_NAME). */
    cacheName: string;
    backend: HostPort;
    /** ElastiCache user id → the local ACL user standing in for it. */
    users: Record<string, { username: string; password: string }>;
  };
}

export interface AwsStandIns {
  credentials: CredentialStore;
  secrets: SecretsManagerStandIn;
  /** The IMDS each role's instances reach, serving that role's credentials only. */
  metadata: Record<Role, InstanceMetadataStandIn>;
  rdsIam: RdsIamLdapStandIn;
  elastiCache: ElastiCacheIamProxy;
  /** The CA of the ElastiCache stand-in's certificate (Amazon's public root on AWS, already in Node's store). */
  elastiCacheCa: TestCertificates;
  close(): Promise<void>;
}

export async function startAwsStandIns(options: AwsStandInOptions): Promise<AwsStandIns> {
  const { region, roleNames } = options;
  const credentials = new CredentialStore(CREDENTIAL_LIFETIME_MS);
  const secrets = await SecretsManagerStandIn.start({ region });
  const imds = (role: Role) => InstanceMetadataStandIn.start({ role: roleNames[role], credentials, region });
  const metadata = { api: await imds('api'), worker: await imds('worker') };
  const rdsIam = await RdsIamLdapStandIn.start({
    port: options.database.ldapPort,
    verify: rdsIamTokenVerifier(credentials, options.database.endpoints),
  });
  const elastiCacheCa = await createTestCertificates('Cyphr boot test ElastiCache CA');
  const elastiCache = await ElastiCacheIamProxy.start({
    credentials,
    cacheName: options.redis.cacheName,
    backend: options.redis.backend,
    users: options.redis.users,
    tls: { key: elastiCacheCa.key, cert: elastiCacheCa.cert },
  });
  return {
    credentials,
    secrets,
    metadata,
    rdsIam,
    elastiCache,
    elastiCacheCa,
    close: async () => {
      await Promise.all([
        secrets.close(),
        metadata.api.close(),
        metadata.worker.close(),
        rdsIam.close(),
        elastiCache.close(),
      ]);
      await elastiCacheCa.remove();
    },
  };
}
