import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A private CA and one server certificate it issued, for stand-ins that speak TLS in tests. */
export interface TestCertificates {
  /** The CA's certificate (PEM): what a client must trust, like a managed service's root. */
  ca: string;
  /** The CA certificate's path, e.g. for NODE_EXTRA_CA_CERTS of a spawned process. */
  caFile: string;
  key: string;
  cert: string;
  remove(): Promise<void>;
}

/**
 * Generates a CA and a server certificate for `localhost` and 127.0.0.1 with the openssl command (P-256 keys,
 * valid one day) in a temporary folder. A client that does not trust `ca` refuses the server, as it should.
 */
export async function createTestCertificates(commonName = 'Cyphr test CA'): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'cyphr-ca-'));
  const path = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
    '-days',
    '1',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    path('server.key'),
    '-out',
    path('server.csr'),
    '-subj',
    '/CN=localhost',
  ]);
  await writeFile(
    path('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    path('server.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-out',
    path('server.pem'),
    '-days',
    '1',
    '-extfile',
    path('server.ext'),
  ]);
  const [ca, key, cert] = await Promise.all(
    ['ca.pem', 'server.key', 'server.pem'].map((name) => readFile(path(name), 'utf8')),
  );
  return { ca, caFile: path('ca.pem'), key, cert, remove: () => rm(dir, { recursive: true, force: true }) };
}
