// The boot test's own machinery, without services: the unit reader and restart rule it plays systemd with,
// the env-file diff that keeps test settings to a named list, the resolver that refuses unmapped references, and
// the ports a network namespace relays.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localResolver, type LocalEndpoints } from './local-references';
import { loopbackPorts } from './network-namespace';
import { differences, withTestSettings } from './role-env';
import { resolvedEnvFiles, type SynthesizedStack } from './synthesized-env';
import { parseTimespan, readServiceUnit, restartsAfter, unitEnvironment } from './systemd-unit';

const local: LocalEndpoints = {
  primary: { host: '127.0.0.1', port: 5001 },
  replica: { host: '127.0.0.1', port: 5002 },
  redis: { host: '127.0.0.1', port: 6001 },
  database: 'cyphr_boot',
  queues: new Map([['cyphr-test-messages', 'http://127.0.0.1:9/000000000000/m']]),
  secrets: new Map([['cyphr-test/jwt-signing-keys', 'arn:aws:secretsmanager:eu-central-1:1:secret:k']]),
};

/** A stack whose only launch template writes `env` for the api. */
function stackWriting(env: string): SynthesizedStack {
  const script = `#!/bin/bash\ncat > /etc/cyphr/cyphr.env <<'CYPHR_ENV'\n${env}\nCYPHR_ROLE=api\nCYPHR_ENV\nsystemctl enable --now cyphr-api@0.service cyphr-api@1.service\n`;
  const worker = script.replace(/api/g, 'worker');
  const hcl = (text: string) => `\${base64encode(${JSON.stringify(text)})}`;
  return {
    resource: {
      aws_launch_template: { api: { user_data: hcl(script) }, worker: { user_data: hcl(worker) } },
      aws_db_instance: { primary: { db_name: 'cyphr' }, replica: { replicate_source_db: 'x' } },
      aws_sqs_queue: { messages: { name: 'cyphr-test-messages' } },
      aws_secretsmanager_secret: { keys: { name: 'cyphr-test/jwt-signing-keys' } },
    },
  };
}

describe('resolving the synthesized env files', () => {
  it('points each reference at its stand-in: primary or replica, queue and secret by name', () => {
    const files = resolvedEnvFiles(
      stackWriting(
        [
          'DATABASE_HOST=${aws_db_instance.primary.address}',
          'DATABASE_PORT=${aws_db_instance.primary.port}',
          'DATABASE_REPLICA_HOSTS=${aws_db_instance.replica.endpoint}',
          'DATABASE_NAME=${aws_db_instance.primary.db_name}',
          'SQS_MESSAGES_QUEUE_URL=${aws_sqs_queue.messages.url}',
          'JWT_SECRET_ARN=${aws_secretsmanager_secret.keys.arn}',
        ].join('\n'),
      ),
      localResolver(local),
    );
    expect(files.api).toBe(
      [
        'DATABASE_HOST=127.0.0.1',
        'DATABASE_PORT=5001',
        'DATABASE_REPLICA_HOSTS=127.0.0.1:5002',
        'DATABASE_NAME=cyphr_boot',
        'SQS_MESSAGES_QUEUE_URL=http://127.0.0.1:9/000000000000/m',
        'JWT_SECRET_ARN=arn:aws:secretsmanager:eu-central-1:1:secret:k',
        'CYPHR_ROLE=api',
        '',
      ].join('\n'),
    );
  });

  it('fails naming every reference without a stand-in', () => {
    const stack = stackWriting('A=${aws_db_instance.primary.master_user_secret[0].secret_arn}\nB=${aws_kms_key.k.arn}');
    expect(() => resolvedEnvFiles(stack, localResolver(local))).toThrow(
      /A: \$\{aws_db_instance\.primary\.master_user_secret\[0\]\.secret_arn\}[\s\S]*B: \$\{aws_kms_key\.k\.arn\}/,
    );
  });
});

describe('test settings', () => {
  it('replace or add only the named keys, and the diff shows exactly those', () => {
    const synthesized = 'PORT=3001\nAWS_REGION=eu-central-1\nCYPHR_ROLE=api\n';
    const ran = withTestSettings(synthesized, { PORT: '4000', RATE_LIMITS: 'ip=1/1' });
    expect(ran).toBe('PORT=4000\nAWS_REGION=eu-central-1\nCYPHR_ROLE=api\nRATE_LIMITS=ip=1/1\n');
    expect(differences(synthesized, ran)).toEqual({ changed: ['PORT', 'RATE_LIMITS'], removed: [] });
    expect(() => withTestSettings(synthesized, { AWS_REGION: 'x' } as never)).toThrow(/not a named test setting/);
  });
});

describe('the installed unit, read as systemd would', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cyphr-unit-'));
  const unitFile = join(dir, 'cyphr-api.service');
  writeFileSync(
    unitFile,
    [
      '[Unit]',
      'StartLimitIntervalSec=300',
      'StartLimitBurst=5',
      '[Service]',
      'EnvironmentFile=/etc/cyphr/cyphr.env',
      'Environment=NODE_ENV=production CYPHR_ROLE=api',
      'ExecStart=/usr/bin/node-22 --enable-source-maps /opt/cyphr/current/app/server/main.js',
      'Restart=on-failure',
      'RestartSec=2',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'cyphr.env'), 'CYPHR_ROLE=api\nPORT=3001\n');

  it('gives the command, the restart policy and the environment (the env file winning)', () => {
    const unit = readServiceUnit(unitFile);
    expect(unit).toMatchObject({
      execStart: ['/usr/bin/node-22', '--enable-source-maps', '/opt/cyphr/current/app/server/main.js'],
      restart: 'on-failure',
      restartSecMs: 2000,
      startLimitBurst: 5,
      startLimitIntervalMs: 300_000,
    });
    expect(unitEnvironment(unit, () => join(dir, 'cyphr.env'))).toMatchObject({
      NODE_ENV: 'production',
      CYPHR_ROLE: 'api',
      PORT: '3001',
    });
    expect(parseTimespan('500ms')).toBe(500);
  });

  it("reads a template as one of its instances: %i is the instance's name", () => {
    const template = join(dir, 'cyphr-worker@.service');
    writeFileSync(
      template,
      [
        '# process %i, in a comment',
        '[Service]',
        'Environment=WORKER_METRICS_PORT=947%i LABEL=100%%',
        'ExecStart=/usr/bin/node-22 /opt/cyphr/current/app/worker/main.js',
        '',
      ].join('\n'),
    );
    expect(readServiceUnit(template, '1').environment).toEqual({ WORKER_METRICS_PORT: '9471', LABEL: '100%' });
    expect(() => readServiceUnit(template)).toThrow(/%i needs an instance/);
  });

  it('restarts on-failure after a crash or SIGKILL, not after a clean exit or SIGTERM', () => {
    expect(restartsAfter('on-failure', null, 'SIGKILL')).toBe(true);
    expect(restartsAfter('on-failure', 1, null)).toBe(true);
    expect(restartsAfter('on-failure', 0, null)).toBe(false);
    expect(restartsAfter('on-failure', null, 'SIGTERM')).toBe(false);
    expect(restartsAfter('no', 1, null)).toBe(false);
  });
});

describe('the network namespace a test runs processes in', () => {
  it('relays every loopback port an env file names, the database port with a loopback host included', () => {
    const env = [
      'DATABASE_HOST=127.0.0.1',
      'DATABASE_PORT=5001',
      'DATABASE_REPLICA_HOSTS=127.0.0.1:5002,127.0.0.1:5002',
      'REDIS_URL=rediss://127.0.0.1:6001',
      'SQS_MESSAGES_QUEUE_URL=http://127.0.0.1:9324/000000000000/m',
      'AWS_EC2_METADATA_SERVICE_ENDPOINT=http://localhost:8111',
      'PORT=3001',
    ].join('\n');
    expect(loopbackPorts(env)).toEqual([5001, 5002, 6001, 8111, 9324]);
    expect(loopbackPorts(env.replace('DATABASE_HOST=127.0.0.1', 'DATABASE_HOST=db.example'))).toEqual([
      5002, 6001, 8111, 9324,
    ]);
  });
});
