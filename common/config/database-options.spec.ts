import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { rdsCaBundle } from '../database/tls';
import { buildDataSourceOptions } from './database-options';
import { DatabaseSettings, validateEnvironment } from './environment';

const base = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  AWS_REGION: 'eu-west-1',
  SQS_MESSAGES_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/m',
  SQS_NOTIFICATIONS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/n',
  JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:jwt',
};
const aws = {
  ...base,
  DATABASE_HOST: 'db.abc.eu-west-1.rds.amazonaws.com',
  DATABASE_REPLICA_HOSTS: 'r1.abc.eu-west-1.rds.amazonaws.com,r2.abc.eu-west-1.rds.amazonaws.com',
  DATABASE_AUTH: 'iam',
  DATABASE_USER: 'cyphr_api',
  DATABASE_SSL: 'true',
};
const options = (vars: Record<string, string>) =>
  buildDataSourceOptions(validateEnvironment(DatabaseSettings, vars), {}) as PostgresDataSourceOptions;

describe('buildDataSourceOptions', () => {
  it('with DATABASE_AUTH=iam gives every host its own password function signing a token for that host', async () => {
    const { replication } = options({ ...aws, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' });
    const all = [replication!.master, ...replication!.slaves];
    expect(all.map((c) => [c.host, c.port, c.username])).toEqual([
      [aws.DATABASE_HOST, 5432, 'cyphr_api'],
      ['r1.abc.eu-west-1.rds.amazonaws.com', 5432, 'cyphr_api'],
      ['r2.abc.eu-west-1.rds.amazonaws.com', 5432, 'cyphr_api'],
    ]);
    for (const c of all) expect(typeof c.password).toBe('function');
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    try {
      const token = await (replication!.slaves[1].password as () => Promise<string>)();
      const url = new URL(`https://${token}`);
      expect(url.host).toBe('r2.abc.eu-west-1.rds.amazonaws.com:5432');
      expect(url.searchParams.get('DBUser')).toBe('cyphr_api');
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it('verifies the server (verify-full) against the shipped RDS CA bundle unless DATABASE_CA_FILE says otherwise', () => {
    const { replication } = options(aws);
    const ssl = replication!.master.ssl as { rejectUnauthorized: boolean; ca: string; servername?: string };
    expect(ssl.rejectUnauthorized).toBe(true);
    expect(ssl.servername).toBe(aws.DATABASE_HOST);
    expect(ssl.ca).toBe(rdsCaBundle());
    expect(ssl.ca.match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThan(10); // every region's RDS root CAs

    const dir = mkdtempSync(join(tmpdir(), 'cyphr-ca-'));
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    writeFileSync(join(dir, 'ca.pem'), pem);
    const withFile = options({ ...aws, DATABASE_CA_FILE: join(dir, 'ca.pem') }).replication!;
    expect((withFile.master.ssl as { ca: string }).ca).toBe(pem);
    expect((withFile.slaves[0].ssl as { ca: string }).ca).toBe(pem);
    expect(() => options({ ...aws, DATABASE_CA_FILE: join(dir, 'missing.pem') })).toThrow(/ENOENT/);
  });

  it('sends no SNI for an IP address (the certificate is checked against its IP SAN) and takes host:port entries', () => {
    const { replication } = options({ ...aws, DATABASE_HOST: '127.0.0.1', DATABASE_REPLICA_HOSTS: '127.0.0.1:5433' });
    expect(replication!.master.ssl).not.toHaveProperty('servername');
    expect([replication!.slaves[0].host, replication!.slaves[0].port]).toEqual(['127.0.0.1', 5433]);
  });

  it('keeps the local password path: URLs as given, no TLS unless asked', () => {
    const { replication } = options({
      ...base,
      DATABASE_URL: 'postgres://app:pw@127.0.0.1:55432/cyphr',
      DATABASE_REPLICA_URLS: 'postgres://app:pw@127.0.0.1:55433/cyphr',
    });
    expect(replication!.master).toEqual({ url: 'postgres://app:pw@127.0.0.1:55432/cyphr', ssl: false });
    expect(replication!.slaves).toEqual([{ url: 'postgres://app:pw@127.0.0.1:55433/cyphr', ssl: false }]);
  });
});
