import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { execFile, execFileSync } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { promisify } from 'node:util';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { formatKeyring } from '../../common/config/jwt-keys';
import { tokenKid } from '../../server/auth/jwt-keyring';
import { parseEnvFile } from '../../common/config/local-env-file';
import { rdsIamPassword } from '../../common/database/iam-auth';
import { DATABASE_ROLES, MASTER_USERNAME } from '../../common/database/roles';
import { ENVIRONMENTS, TIERS } from '../../infra/config';
import { KERNEL_SETTINGS } from '../../infra/constructs/image-component';
import { roleEnvFiles } from '../../infra/user-data-env';
import { ApiError, CyphrClient, LiveConnection, Session } from '../../scripts/testing/api-client';
import { eventually, freePort, sleep } from '../../scripts/testing/waiting';
import { AwsStandIns, startAwsStandIns } from './support/aws-stand-ins';
import { LoadBalancer, startLoadBalancer } from './support/haproxy';
import { LocalEndpoints, localResolver } from './support/local-references';
import { imageNodeMajor, nodeRuntime } from './support/node-runtime';
import { loopbackPorts, NetworkNamespace } from './support/network-namespace';
import type { HandoverResult } from './support/port-handover';
import { ManagedProcess } from './support/processes';
import { differences, isTestSetting, TEST_SETTINGS, TestSetting, withTestSettings } from './support/role-env';
import { instanceRoleName, resolvedEnvFiles, Role, synthesizeStack, SynthesizedStack } from './support/synthesized-env';
import { readServiceUnit, unitEnvironment } from './support/systemd-unit';

/**
 * Proof by booting, on the AWS configuration path: the bundle is built and installed with install.sh as the image
 * component installs it; each process gets the env file the synthesized production stack's user data writes for
 * its role (Terraform references resolved to local stand-ins, nothing else changed but a named list of test
 * settings), runs on the Node.js major the image installs, and is started and restarted as its installed unit
 * says. Secrets come by ARN from a Secrets Manager stand-in and credentials from one IMDS per instance role;
 * PostgreSQL is reached over verify-full TLS (the local CA in the release's rds-ca.pem) with IAM tokens that an
 * RDS stand-in checks behind pg_hba's `ldap` line, Redis through an ElastiCache stand-in that checks IAM tokens
 * and AUTHs as the role's ACL user. Run with the worktree's CYPHR_* ports (scripts/services.sh up first).
 */
const ROOT = resolve(__dirname, '..', '..');
const run = promisify(execFile);
const ENVIRONMENT = ENVIRONMENTS.production;
const TIER = TIERS[ENVIRONMENT.tier];
const NAME_PREFIX = `cyphr-${ENVIRONMENT.name}`;
/** Where user data and the units put things on an instance; here under the test's temporary root. */
const INSTANCE_PATHS = ['/opt/cyphr', '/etc/cyphr'];

/** `eventually`, where a probe that throws (a process not listening yet, a 502 while a backend is down) means "not yet". */
const untilReady = <T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> =>
  eventually(() => probe().catch(() => undefined), timeoutMs, what, 100);

const work = mkdtempSync(join(tmpdir(), 'cyphr-boot-'));
/** The AMI's file system: one install, shared by the "instances" below (each has its own /etc/cyphr). */
const prefix = join(work, 'opt', 'cyphr');
const systemdDir = join(work, 'systemd');
const logs = join(work, 'logs');
const suffix = Math.random().toString(36).slice(2, 8);
/** The test's own SQS access (creating and deleting this run's queues), in the stack's region. */
const sqs = new SQSClient({
  region: ENVIRONMENT.region,
  endpoint: process.env.SQS_ENDPOINT,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const queueUrls: string[] = [];
/** This run's database on the local cluster: the stack's db_name, so other suites' `cyphr` database is untouched. */
const database = `cyphr_boot_${suffix}`;
/** What services.sh generated for this checkout (the superuser, the Redis ACL users); the test's own access. */
const localSecrets = (file: string) => parseEnvFile(readFileSync(join(ROOT, '.local', file), 'utf8'));
const superuser = () => ({
  host: '127.0.0.1',
  port: Number(process.env.CYPHR_PG_PORT),
  user: 'postgres',
  password: localSecrets('secrets.env').PG_SUPERUSER_PASSWORD,
});
/** The RDS master user's stand-in: not a superuser, may create roles and hand over a database (as on RDS). */
const master = { username: MASTER_USERNAME, password: randomBytes(24).toString('hex') };

let node: string;
let stack: SynthesizedStack;
let aws: AwsStandIns;
/** Each role's env file as the stack wrote it, references resolved to the stand-ins. */
let synthesized: Record<Role, string>;
const ran: Record<string, string> = {};
let jwtKeyringArn: string;
let masterSecretArn: string;
let pushKeyArn: string;
let roleNames: Record<Role, string>;
let shippedRdsCa: boolean;
let apis: ManagedProcess[] = [];
let apiPorts: number[] = [];
let worker: ManagedProcess;
let balancer: LoadBalancer;
let client: CyphrClient;
const bootToHealthyMs: number[] = [];

/** An instance path (/opt/cyphr/..., /etc/cyphr/...) on the test's disk; `host` owns its /etc. */
function onDisk(path: string, host: string): string {
  if (path.startsWith('/etc/cyphr')) return join(work, 'hosts', host, path);
  return path.replace(/^\/opt\/cyphr/, prefix);
}

/**
 * The stack's queues, created on the local SQS server for this run; the stack's name → local URL. Each keeps its
 * kind (FIFO with the stack's FIFO settings, or standard) and redrives to the DLQ its redrive policy names.
 */
async function createQueues(): Promise<Map<string, string>> {
  const queues = Object.entries(stack.resource.aws_sqs_queue ?? {}).map(([address, q]) => ({
    address,
    name: String(q.name),
    fifo: q.fifo_queue === true,
    attributes: (q.fifo_queue
      ? {
          FifoQueue: 'true',
          DeduplicationScope: String(q.deduplication_scope),
          FifoThroughputLimit: String(q.fifo_throughput_limit),
        }
      : {}) as Record<string, string>,
    // `${jsonencode({"deadLetterTargetArn" = aws_sqs_queue.<address>.arn, ...})}`
    deadLetter: /aws_sqs_queue\.([\w-]+)\.arn/.exec(String(q.redrive_policy ?? ''))?.[1],
  }));
  if (!queues.some((q) => q.deadLetter)) throw new Error('the stack has no queue with a dead-letter queue');
  const create = async (name: string, fifo: boolean, attributes: Record<string, string>) => {
    // A FIFO queue's name must end in .fifo: the run's suffix goes before it.
    const local = fifo ? `${name.replace(/\.fifo$/, '')}-${suffix}.fifo` : `${name}-${suffix}`;
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: local, Attributes: attributes }));
    queueUrls.push(QueueUrl!);
    return QueueUrl!;
  };
  const urls = new Map<string, string>();
  const arns = new Map<string, string>();
  for (const q of queues.filter((candidate) => !candidate.deadLetter)) {
    const url = await create(q.name, q.fifo, q.attributes);
    urls.set(q.name, url);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    arns.set(q.address, Attributes!.QueueArn!);
  }
  // The stack's redrive (5 receives); a 5 s visibility timeout so a killed worker's batch reappears within the test.
  for (const q of queues.filter((candidate) => candidate.deadLetter)) {
    const redrive = JSON.stringify({ deadLetterTargetArn: arns.get(q.deadLetter!), maxReceiveCount: 5 });
    urls.set(q.name, await create(q.name, q.fifo, { ...q.attributes, VisibilityTimeout: '5', RedrivePolicy: redrive }));
  }
  return urls;
}

/** As RDS creates an instance: the master user owning a new, empty database (db_name). */
async function createDatabase(): Promise<void> {
  const admin = new Client({ ...superuser(), database: 'postgres' });
  await admin.connect();
  try {
    const exists = (await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [master.username])).rowCount;
    const password = admin.escapeLiteral(master.password);
    await admin.query(
      `${exists ? 'ALTER' : 'CREATE'} ROLE ${master.username} LOGIN CREATEROLE CREATEDB PASSWORD ${password}`,
    );
    await admin.query(`CREATE DATABASE ${database} OWNER ${master.username}`);
  } finally {
    await admin.end();
  }
}

async function dropDatabase(): Promise<void> {
  const admin = new Client({ ...superuser(), database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => admin.end());
}

/** The secrets the stack creates, with the values Terraform writes into them (write-only, from a random password). */
function createSecrets(): Map<string, string> {
  const values: Record<string, () => string> = {
    [`${NAME_PREFIX}/jwt-signing-keys`]: () => formatKeyring([{ kid: 'initial', secret: randomBytes(48) }]),
    [`${NAME_PREFIX}/db-master`]: () => JSON.stringify(master),
    // Production pushes through a webhook: the worker reads its signing key by ARN at start.
    [`${NAME_PREFIX}/push-webhook-signing-key`]: () => randomBytes(48).toString('base64url'),
  };
  const arns = new Map<string, string>();
  for (const secret of Object.values(stack.resource.aws_secretsmanager_secret ?? {})) {
    const name = String(secret.name);
    if (values[name]) arns.set(name, aws.secrets.create(name, values[name]()));
  }
  return arns;
}

/** The stack's env files with every reference pointing at a stand-in, and /opt/cyphr at the install. */
function resolveEnvFiles(local: LocalEndpoints): Record<Role, string> {
  const files = resolvedEnvFiles(stack, localResolver(local));
  const atInstall = (text: string) => text.replace(/\/opt\/cyphr\//g, `${prefix}/`);
  return { api: atInstall(files.api), worker: atInstall(files.worker) };
}

/** Stand-in endpoints every process of `role` gets (on EC2 the SDK finds the real ones by itself). */
function standInSettings(role: Role): Partial<Record<TestSetting, string>> {
  return {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.metadata[role].url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.secrets.url,
    AWS_ENDPOINT_URL_SQS: process.env.SQS_ENDPOINT,
    NODE_EXTRA_CA_CERTS: aws.elastiCacheCa.caFile,
  };
}

/** What user data does on boot: writes the role's env file on this host. */
function writeEnvFile(host: string, role: Role, settings: Partial<Record<TestSetting, string>>): void {
  const file = onDisk('/etc/cyphr/cyphr.env', host);
  mkdirSync(dirname(file), { recursive: true });
  ran[host] = withTestSettings(synthesized[role], { ...standInSettings(role), ...settings });
  writeFileSync(file, ran[host], { mode: 0o644 });
}

/**
 * `systemctl start <unit>` on `host` (`cyphr-api@1.service`: the template read as instance 1): the installed unit's
 * command, environment and restart policy. `dropIn` plays a drop-in's Environment= (named per-process test
 * settings only): several "instances" share this machine, so each process's metrics port must be a free one.
 */
function startUnit(
  host: string,
  unitName: string,
  dropIn: Partial<Record<TestSetting, string>> = {},
  inside?: NetworkNamespace,
): ManagedProcess {
  const template = /^(.+@)(\d+)(\.service)$/.exec(unitName);
  const unit = template
    ? readServiceUnit(join(systemdDir, `${template[1]}${template[3]}`), template[2])
    : readServiceUnit(join(systemdDir, unitName));
  for (const key of Object.keys(dropIn))
    if (!(TEST_SETTINGS.perProcess as readonly string[]).includes(key)) throw new Error(`${key} is not per process`);
  Object.assign(unit.environment, dropIn);
  const env = unitEnvironment(unit, (path) => onDisk(path, host));
  const [command, args] = inside
    ? inside.enter(unit.execStart[0], unit.execStart.slice(1))
    : [unit.execStart[0], unit.execStart.slice(1)];
  const name = template ? `${host}@${template[2]}` : host;
  return new ManagedProcess(name, command, args, env, logs, {
    cwd: unit.workingDirectory,
    restart: {
      restart: unit.restart,
      restartSecMs: unit.restartSecMs,
      startLimitBurst: unit.startLimitBurst,
      startLimitIntervalMs: unit.startLimitIntervalMs,
    },
  }).start();
}

async function healthy(port: number): Promise<boolean | undefined> {
  return (await fetch(`http://127.0.0.1:${port}/health`)).ok || undefined;
}

/** An API instance's env file, listening on `port`, with limits a test's traffic stays under and quick key refreshes. */
function writeApiEnvFile(host: string, port: number): void {
  writeEnvFile(host, 'api', {
    PORT: String(port),
    RATE_LIMITS: 'registerIp=100000/3600,ip=1000000/60,user=100000/60,send=100000/60',
    JWT_KEYS_REFRESH_SECONDS: '2',
  });
}

async function startApi(index: number, port: number): Promise<ManagedProcess> {
  const host = `api-${index}`;
  writeApiEnvFile(host, port);
  const started = Date.now();
  const api = startUnit(host, 'cyphr-api@0.service', { METRICS_PORT: String(await freePort()) });
  await untilReady(() => healthy(port), 30_000, `${host} healthy (log: ${api.logFile})`);
  bootToHealthyMs.push(Date.now() - started);
  return api;
}

const WORKER_TUNING = {
  WORKER_WAIT_TIME_SECONDS: '1',
  WORKER_VISIBILITY_TIMEOUT_SECONDS: '5',
  WORKER_SHUTDOWN_TIMEOUT_MS: '5000',
} as const;

async function startWorker(): Promise<ManagedProcess> {
  writeEnvFile('worker-0', 'worker', WORKER_TUNING);
  // cyphr-migrate.service runs on worker instances with the worker's env file, before the worker starts.
  const migrate = startUnit('worker-0', 'cyphr-migrate.service');
  const code = await migrate.waitForExit();
  await migrate.stop();
  if (code !== 0) throw new Error(`migrate exited ${code}:\n${readFileSync(migrate.logFile, 'utf8')}`);
  return startUnit('worker-0', 'cyphr-worker@0.service', { WORKER_METRICS_PORT: String(await freePort()) });
}

/** The test's own view of the primary (as an operator would look), not a process's login. */
async function query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const db = new Client({ ...superuser(), database });
  await db.connect();
  try {
    return (await db.query(sql, params)).rows as T[];
  } finally {
    await db.end();
  }
}

async function primaryCount(conversationId: string): Promise<{ rows: number; distinct: number }> {
  const [row] = await query<{ rows: number; distinct: number }>(
    'SELECT count(*)::int AS rows, count(DISTINCT client_message_id)::int AS distinct FROM messages WHERE conversation_id = $1',
    [conversationId],
  );
  return row;
}

/** Sends like a mobile client on a flaky network: on a gateway error or a reset, retry with the same clientMessageId. */
async function sendWithRetry(sender: Session, conversationId: string, clientMessageId: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await client.send(sender, conversationId, undefined, clientMessageId)).id;
    } catch (error) {
      const retriable = !(error instanceof ApiError) || error.status >= 500;
      if (!retriable || attempt >= 10) throw error;
      await sleep(200);
    }
  }
}

function installBundle(): void {
  execFileSync('bash', [join(ROOT, 'packaging', 'build-bundle.sh')], { cwd: ROOT, stdio: 'pipe' });
  const archive = readFileSync(join(ROOT, 'dist', 'LATEST'), 'utf8').trim();
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', join(ROOT, archive), '-C', unpacked]);
  const [bundleDir] = readdirSync(unpacked);
  const install = ['--prefix', prefix, '--etc', join(work, 'etc', 'cyphr'), '--systemd-dir', systemdDir];
  execFileSync('bash', [join(unpacked, bundleDir, 'install.sh'), ...install, '--node', node, '--no-system-user'], {
    stdio: 'pipe',
  });
}

beforeAll(async () => {
  mkdirSync(logs);
  node = nodeRuntime(ROOT, imageNodeMajor(ENVIRONMENT));
  installBundle();
  // The release's RDS CA bundle: the local PostgreSQL's CA stands in for it, as the cluster stands in for RDS.
  shippedRdsCa = existsSync(join(prefix, 'current', 'certs', 'rds-ca.pem'));
  mkdirSync(join(prefix, 'current', 'certs'), { recursive: true });
  copyFileSync(process.env.CYPHR_PG_CA_FILE!, join(prefix, 'current', 'certs', 'rds-ca.pem'));
  await createDatabase();

  stack = synthesizeStack(ENVIRONMENT, TIER);
  // The literal settings the stand-ins must agree with: which cache and which ElastiCache users.
  const literal = roleEnvFiles(stack);
  const redisUsers = localSecrets('redis-users.env');
  const primary = { host: '127.0.0.1', port: Number(process.env.CYPHR_PG_PORT) };
  const replica = { host: '127.0.0.1', port: Number(process.env.CYPHR_PG_REPLICA_PORT) };
  aws = await startAwsStandIns({
    region: ENVIRONMENT.region,
    roleNames: { api: instanceRoleName(stack, 'api'), worker: instanceRoleName(stack, 'worker') },
    database: {
      endpoints: [primary, replica].map((e) => `${e.host}:${e.port}`),
      ldapPort: Number(process.env.CYPHR_IAM_LDAP_PORT),
    },
    redis: {
      cacheName: literal.api.REDIS_IAM_CACHE_NAME,
      backend: { host: '127.0.0.1', port: Number(process.env.CYPHR_REDIS_PORT) },
      users: {
        [literal.api.REDIS_USER]: { username: redisUsers.REDIS_API_USER, password: redisUsers.REDIS_API_PASSWORD },
        [literal.worker.REDIS_USER]: {
          username: redisUsers.REDIS_WORKER_USER,
          password: redisUsers.REDIS_WORKER_PASSWORD,
        },
      },
    },
  });
  // IAM: each instance role may log in as its own users only (the worker also as the schema owner, to migrate).
  const roles = { api: instanceRoleName(stack, 'api'), worker: instanceRoleName(stack, 'worker') };
  aws.credentials
    .allow(roles.api, 'rds-db', DATABASE_ROLES.api)
    .allow(roles.api, 'elasticache', literal.api.REDIS_USER)
    .allow(roles.worker, 'rds-db', DATABASE_ROLES.worker)
    .allow(roles.worker, 'rds-db', DATABASE_ROLES.migrate)
    .allow(roles.worker, 'elasticache', literal.worker.REDIS_USER);
  roleNames = roles;
  const secrets = createSecrets();
  jwtKeyringArn = secrets.get(`${NAME_PREFIX}/jwt-signing-keys`)!;
  masterSecretArn = secrets.get(`${NAME_PREFIX}/db-master`)!;
  pushKeyArn = secrets.get(`${NAME_PREFIX}/push-webhook-signing-key`)!;
  synthesized = resolveEnvFiles({
    primary,
    replica,
    database,
    redis: { host: '127.0.0.1', port: aws.elastiCache.port },
    queues: await createQueues(),
    secrets,
  });

  worker = await startWorker();
  const [portA, portB, lbPort] = [await freePort(), await freePort(), await freePort()];
  apiPorts = [portA, portB];
  apis = [await startApi(0, portA), await startApi(1, portB)];
  balancer = await startLoadBalancer(lbPort, [
    { name: 'api-0', port: portA },
    { name: 'api-1', port: portB },
  ]);
  client = new CyphrClient(balancer.url);
  await untilReady(
    async () => ((await fetch(`${balancer.url}/health`)).ok ? true : undefined),
    10_000,
    'load balancer healthy',
  );
}, 300_000);

afterAll(async () => {
  await balancer?.stop();
  await Promise.all([...apis.map((api) => api.stop('SIGKILL')), worker?.stop('SIGKILL')]);
  await aws?.close();
  await dropDatabase().catch(() => undefined);
  await Promise.all(queueUrls.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined)));
  sqs.destroy();
  process.stdout.write(`boot: API boot-to-healthy ${bootToHealthyMs.join(' ms, ')} ms\n`);
  if (process.env.CYPHR_KEEP_BOOT_DIR) process.stdout.write(`boot: kept ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
});

describe('the installed bundle', () => {
  it('lays out a release with hardened units pointing at it and at the image’s Node.js', () => {
    const unit = readFileSync(join(systemdDir, 'cyphr-api@.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${node} --enable-source-maps ${prefix}/current/app/server/main.js`);
    for (const setting of [
      'User=cyphr',
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'PrivateTmp=true',
      'Restart=on-failure',
      'TimeoutStopSec=30',
      'EnvironmentFile=/etc/cyphr/cyphr.env',
    ]) {
      expect(unit).toContain(setting);
    }
    expect(readFileSync(join(systemdDir, 'cyphr-worker@.service'), 'utf8')).toMatch(/app\/worker\/main\.js/);
    expect(readFileSync(join(systemdDir, 'cyphr-migrate.service'), 'utf8')).toMatch(/Type=oneshot/);
    const manifest = JSON.parse(readFileSync(join(prefix, 'current', 'manifest.json'), 'utf8'));
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}/);
  });

  it('ships the RDS CA bundle the processes verify PostgreSQL against', () => {
    expect(shippedRdsCa).toBe(true);
  });

  it('ships production dependencies only', () => {
    const modules = readdirSync(join(prefix, 'current', 'node_modules'));
    expect(modules).toContain('@nestjs');
    for (const devOnly of ['jest', 'typescript', 'cdktf', 'fauxqs', 'ts-node']) expect(modules).not.toContain(devOnly);
  });

  it('runs every process on the Node.js major the image installs, not the test runner’s', () => {
    const major = imageNodeMajor(ENVIRONMENT);
    for (const processes of [...apis, worker]) {
      const exe = readlinkSync(`/proc/${processes.pid}/exe`);
      expect(exe).toBe(realpathSync(node));
      expect(execFileSync(exe, ['--version'], { encoding: 'utf8' })).toMatch(new RegExp(`^v${major}\\.`));
    }
  });
});

describe('the configuration the stack writes', () => {
  it('gives each process its role’s synthesized env file, changed only by the named test settings', () => {
    expect(Object.keys(ran).sort()).toEqual(['api-0', 'api-1', 'worker-0']);
    for (const [host, text] of Object.entries(ran)) {
      const role: Role = host.startsWith('api') ? 'api' : 'worker';
      const { changed, removed } = differences(synthesized[role], text);
      expect({ host, removed }).toEqual({ host, removed: [] });
      expect({ host, notTestSettings: changed.filter((key) => !isTestSetting(key)) }).toEqual({
        host,
        notTestSettings: [],
      });
      expect(text).toContain(`CYPHR_ROLE=${role}`);
      // Every instance path (/opt/cyphr, /etc/cyphr) is mapped under the test's root.
      for (const path of INSTANCE_PATHS)
        expect({ host, path, mapped: !text.includes(`=${path}`) }).toMatchObject({ mapped: true });
    }
  });

  it('fetches each secret by ARN with its own role’s credentials: the keyring the api, the master secret and the push key the worker', () => {
    const readers = (arn: string) =>
      new Set(
        aws.secrets.calls.filter((c) => c.action === 'GetSecretValue' && c.secretId === arn).map((c) => c.accessKeyId),
      );
    // Nothing has rotated yet: each role still has the first keys IMDS handed out.
    expect(readers(jwtKeyringArn)).toEqual(new Set([aws.credentials.credentialsFor(roleNames.api).accessKeyId]));
    expect(readers(masterSecretArn)).toEqual(new Set([aws.credentials.credentialsFor(roleNames.worker).accessKeyId]));
    // The push webhook's signing key: the worker's, read once at start.
    expect(readers(pushKeyArn)).toEqual(new Set([aws.credentials.credentialsFor(roleNames.worker).accessKeyId]));
  });

  it('lets the api role’s credentials log in as cyphr_api only, as IAM does', async () => {
    const apiCredentials = aws.credentials.credentialsFor(roleNames.api);
    const login = async (user: string) => {
      const password = rdsIamPassword({
        hostname: '127.0.0.1',
        port: Number(process.env.CYPHR_PG_PORT),
        username: user,
        region: ENVIRONMENT.region,
        credentials: apiCredentials,
      });
      const db = new Client({
        host: '127.0.0.1',
        port: Number(process.env.CYPHR_PG_PORT),
        database,
        user,
        password,
        ssl: { ca: readFileSync(process.env.CYPHR_PG_CA_FILE!, 'utf8') },
      });
      await db.connect();
      await db.end();
    };
    await expect(login(DATABASE_ROLES.api)).resolves.toBeUndefined();
    await expect(login(DATABASE_ROLES.worker)).rejects.toThrow(/authentication failed/);
    await expect(login(DATABASE_ROLES.migrate)).rejects.toThrow(/authentication failed/);
    expect(aws.rdsIam.binds.at(-1)).toMatchObject({ user: DATABASE_ROLES.migrate, ok: false });
  });

  it('logs each process in to PostgreSQL as its own role', async () => {
    const logins = await query<{ usename: string }>(
      'SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    expect(logins.map((l) => l.usename).sort()).toEqual([DATABASE_ROLES.api, DATABASE_ROLES.worker].sort());
  });
});

describe('through the load balancer', () => {
  jest.setTimeout(120_000);

  let alice: Session;
  let bob: Session;
  let conversationId: string;
  let aliceLive: LiveConnection;
  let bobLive: LiveConnection;

  beforeAll(async () => {
    alice = await client.register();
    bob = await client.register();
    conversationId = await client.createConversation(alice, [bob.userId]);
    aliceLive = await client.connect(alice);
    // Round robin: keep opening until Bob's socket lands on the other API process.
    for (let attempt = 0; attempt < 6; attempt++) {
      const candidate = await client.connect(bob);
      if (candidate.instanceId !== aliceLive.instanceId) {
        bobLive = candidate;
        break;
      }
      candidate.close();
    }
  });
  afterAll(() => {
    aliceLive?.close();
    bobLive?.close();
  });

  it('puts the two users on different API processes', () => {
    expect(bobLive).toBeDefined();
    expect(bobLive.instanceId).not.toBe(aliceLive.instanceId);
    expect(new Set([aliceLive.backend, bobLive.backend])).toEqual(new Set(['api-0', 'api-1']));
  });

  it('delivers a conversation live to both sides and keeps it in history', async () => {
    const sent: string[] = [];
    for (let i = 0; i < 3; i++) sent.push((await client.send(alice, conversationId)).id);
    for (let i = 0; i < 2; i++) sent.push((await client.send(bob, conversationId)).id);
    for (const id of sent) {
      await bobLive.next(
        (event) => event.type === 'message' && (event as { message: { id: string } }).message.id === id,
      );
      await aliceLive.next(
        (event) => event.type === 'message' && (event as { message: { id: string } }).message.id === id,
      );
    }
    const history = await untilReady(
      async () => {
        const items = await client.fullHistory(bob, conversationId);
        return items.length >= sent.length ? items : undefined;
      },
      10_000,
      'history on the replica',
    );
    // Each send waited for the previous 202: the FIFO queue (grouped by conversation) keeps that order in storage
    // order (seq), and history is newest first.
    expect(history.map((m) => m.id)).toEqual([...sent].reverse());
    expect(history.map((m) => BigInt(m.seq))).toEqual(
      [...history.map((m) => BigInt(m.seq))].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)),
    );
    expect((await client.fullHistory(alice, conversationId)).map((m) => m.id)).toEqual(history.map((m) => m.id));

    await client.markRead(bob, conversationId, sent[sent.length - 1]);
    await aliceLive.next((event) => event.type === 'receipt' && (event as { userId: string }).userId === bob.userId);
  });

  it('restarts a killed API process as its unit says, losing no accepted message', async () => {
    const accepted = new Set<string>();
    const victim = apis[0];
    const before = victim.pid;
    for (let i = 0; i < 40; i++) {
      if (i === 10) await victim.kill('SIGKILL');
      accepted.add(await sendWithRetry(alice, conversationId, randomUUID()));
    }
    expect(accepted.size).toBe(40);
    // No systemd here: the unit's Restart=on-failure / RestartSec bring it back, as they would on the instance.
    await victim.startedTimes(2);
    expect(victim.pid).not.toBe(before);
    await untilReady(() => healthy(apiPorts[0]), 30_000, 'api-0 healthy again');
    const stored = await untilReady(
      async () => {
        const ids = new Set((await client.fullHistory(alice, conversationId)).map((m) => m.id));
        return [...accepted].every((id) => ids.has(id)) ? ids : undefined;
      },
      20_000,
      'every accepted message in history',
    );
    expect(stored.size).toBe(45);
  });

  it('restarts a SIGKILLed worker as its unit says and stores every message exactly once', async () => {
    const before = await primaryCount(conversationId);
    const sends = Array.from({ length: 60 }, () => sendWithRetry(bob, conversationId, randomUUID()));
    const ids = await Promise.all(sends.slice(0, 30));
    await worker.kill('SIGKILL');
    ids.push(...(await Promise.all(sends.slice(30))));
    await worker.startedTimes(2);
    const after = await untilReady(
      async () => {
        const counts = await primaryCount(conversationId);
        return counts.rows >= before.rows + 60 ? counts : undefined;
      },
      40_000,
      'all 60 messages stored',
    );
    // A few extra seconds for any redelivery (visibility timeout 5 s) to show up as a duplicate, if one were made.
    await sleep(6_000);
    const settled = await primaryCount(conversationId);
    expect(after.rows).toBe(before.rows + 60);
    expect(settled.rows).toBe(before.rows + 60);
    expect(settled.distinct).toBe(settled.rows);
    expect(new Set(ids).size).toBe(60);
  });

  it('picks up rotated database credentials and a rotated JWT key without a restart or a failed request', async () => {
    const starts = [...apis, worker].map((p) => p.starts);
    const failures: string[] = [];
    const accepted: string[] = [];
    let sending = true;
    // A client that keeps sending with a token issued before either rotation, and never retries.
    const sender = (async () => {
      while (sending) {
        try {
          accepted.push((await client.send(alice, conversationId, undefined, randomUUID())).id);
        } catch (error) {
          failures.push(String(error));
        }
        await sleep(20);
      }
    })();
    await sleep(1_000);
    const bindsBefore = aws.rdsIam.binds.length;
    const fetchesBefore = aws.metadata.api.credentialFetches + aws.metadata.worker.credentialFetches;

    // IAM rotates the instance roles' keys (IMDS serves new ones; as on EC2 the old ones stay valid until they
    // expire), then 15 minutes pass: every token signed so far has expired. The stand-in dates tokens to the
    // second, so the test waits into the next one; then the pools' idle connections go and ElastiCache drops
    // its connections (as 12 hours after their AUTH, or in a failover): every new login needs a new token.
    for (const role of ['api', 'worker'] as const) aws.credentials.rotate(roleNames[role], { revokePrevious: false });
    aws.credentials.expireIssuedTokens();
    await sleep(1_100);
    await query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = ANY($2) AND state = 'idle'",
      [database, [DATABASE_ROLES.api, DATABASE_ROLES.worker]],
    );
    const authsBefore = aws.elastiCache.auths.length;
    aws.elastiCache.dropAll();
    await sleep(3_000);

    // An operator rotates the JWT key with the documented command, against the Secrets Manager stand-in.
    // Asynchronously: the stand-ins live in this process and must keep answering while it runs.
    await run('npm', ['run', '--silent', 'rotate-jwt-key', '--', '--secret-id', jwtKeyringArn], {
      cwd: ROOT,
      env: {
        ...process.env,
        PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
        AWS_REGION: ENVIRONMENT.region,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.secrets.url,
        AWS_ACCESS_KEY_ID: 'AKIAOPERATOR',
        AWS_SECRET_ACCESS_KEY: 'operator',
      },
    });
    const [newKid, previousKid] = (
      JSON.parse(aws.secrets.current(jwtKeyringArn)!) as { keys: { kid: string }[] }
    ).keys.map((k) => k.kid);
    expect(previousKid).toBe('initial');
    // New sessions get tokens signed with the new key on every API, and both APIs accept them.
    const carol = await untilReady(
      async () => {
        const session = await client.register();
        return tokenKid(session.token) === newKid ? session : undefined;
      },
      15_000,
      'a token signed with the rotated key',
    );
    for (let i = 0; i < 4; i++) await client.createConversation(carol, [alice.userId]);
    await sleep(2_000);
    sending = false;
    await sender;

    const refusedLogins = aws.rdsIam.binds.slice(bindsBefore).filter((bind) => !bind.ok);
    expect({ failures, refusedLogins }).toEqual({ failures: [], refusedLogins: [] });
    expect(accepted.length).toBeGreaterThan(20);
    // The processes read the new keys from IMDS and logged in again with tokens signed by them.
    expect(aws.metadata.api.credentialFetches + aws.metadata.worker.credentialFetches).toBeGreaterThan(fetchesBefore);
    const relogins = aws.rdsIam.binds.slice(bindsBefore).filter((bind) => bind.ok);
    expect(relogins.map((bind) => bind.user)).toContain(DATABASE_ROLES.api);
    const reauths = aws.elastiCache.auths.slice(authsBefore);
    expect(reauths.filter((auth) => !auth.ok)).toEqual([]);
    expect(new Set(reauths.map((auth) => auth.user))).toEqual(
      new Set([roleEnvFiles(stack).api.REDIS_USER, roleEnvFiles(stack).worker.REDIS_USER]),
    );
    expect([...apis, worker].map((p) => p.starts)).toEqual(starts);
    const stored = await untilReady(
      async () => {
        const ids = new Set((await client.fullHistory(alice, conversationId)).map((m) => m.id));
        return accepted.every((id) => ids.has(id)) ? ids : undefined;
      },
      20_000,
      'every message sent across the rotations in history',
    );
    expect(stored.size).toBeGreaterThanOrEqual(accepted.length);
    // The pools logged in again with new tokens, as their own roles.
    const logins = await query<{ usename: string }>(
      'SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    expect(logins.map((l) => l.usename).sort()).toEqual([DATABASE_ROLES.api, DATABASE_ROLES.worker].sort());
  });

  it('finishes in-flight requests when an API process gets SIGTERM', async () => {
    const target = apis[1];
    const port = apiPorts[1];
    const inFlight = Array.from({ length: 30 }, () =>
      fetch(`http://127.0.0.1:${port}/v1/conversations/${conversationId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ clientMessageId: randomUUID(), ciphertext: 'b3BhcXVl' }),
      }).then(
        (response) => ({ status: response.status, error: undefined as string | undefined }),
        (error: Error & { cause?: { code?: string } }) => ({ status: 0, error: error.cause?.code ?? error.message }),
      ),
    );
    await sleep(20);
    // systemctl stop: SIGTERM, and a clean exit is not restarted (Restart=on-failure).
    const exit = target.stop('SIGTERM');
    const results = await Promise.all(inFlight);
    expect(await exit).toBe(0);
    // Requests the process had accepted all completed; a request that arrived after it stopped listening was refused, never reset.
    const completed = results.filter((r) => r.status !== 0);
    expect(completed.length).toBeGreaterThan(0);
    expect(completed.every((r) => r.status === 202)).toBe(true);
    expect(results.filter((r) => r.status === 0).map((r) => r.error)).toEqual([]);
  });
});

/** GET on a new connection each time (no keep-alive pool): the kernel picks one of the port's listeners anew. */
function freshGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const request = httpGet({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

/** A counter's value in Prometheus text (summed over its label sets). */
const counter = (text: string, name: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);

describe('one instance running a process per vCPU (every tier’s instance type has two)', () => {
  jest.setTimeout(120_000);
  const host = 'api-2';
  let port: number;
  let apiMetricsPorts: number[];
  let workerMetricsPorts: number[];
  let processes: ManagedProcess[] = [];
  let workers: ManagedProcess[] = [];

  beforeAll(async () => {
    // As user data does: one env file, then cyphr-api@0 and cyphr-api@1 on the same PORT.
    port = await freePort();
    writeApiEnvFile(host, port);
    apiMetricsPorts = [await freePort(), await freePort()];
    processes = apiMetricsPorts.map((metrics, n) =>
      startUnit(host, `cyphr-api@${n}.service`, { METRICS_PORT: String(metrics) }),
    );
    for (const [n, metrics] of apiMetricsPorts.entries())
      await untilReady(
        async () => (await freshGet(metrics, '/metrics')).status === 200 || undefined,
        30_000,
        `${host} process ${n} serving its metrics (log: ${processes[n].logFile})`,
      );
    // The worker instance from before stops; one instance's two worker processes take the queues over.
    await worker.stop();
    writeEnvFile('worker-1', 'worker', WORKER_TUNING);
    workerMetricsPorts = [await freePort(), await freePort()];
    workers = workerMetricsPorts.map((metrics, n) =>
      startUnit('worker-1', `cyphr-worker@${n}.service`, { WORKER_METRICS_PORT: String(metrics) }),
    );
    for (const [n, metrics] of workerMetricsPorts.entries())
      await untilReady(
        async () => (await freshGet(metrics, '/ready')).status === 200 || undefined,
        30_000,
        `worker-1 process ${n} ready (log: ${workers[n].logFile})`,
      );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...processes, ...workers].map((p) => p.stop('SIGKILL')));
  });

  it('shares the API port between two processes on the image’s Node.js: both answer', async () => {
    for (const p of [...processes, ...workers])
      expect(realpathSync(readlinkSync(`/proc/${p.pid}/exe`))).toBe(realpathSync(node));
    const instances = new Set<string>();
    for (let attempt = 0; attempt < 60 && instances.size < 2; attempt++) {
      const { status, body } = await freshGet(port, '/health/ready');
      expect(status).toBe(200);
      instances.add((JSON.parse(body) as { instanceId: string }).instanceId);
    }
    // Each process has its own instance id (presence fields and realtime routing stay unique per process).
    expect(instances.size).toBe(2);
  });

  it('gives each process its own metrics port, with its own registry', async () => {
    const before = await Promise.all(apiMetricsPorts.map((p) => freshGet(p, '/metrics')));
    for (const scrape of before) {
      expect(scrape.status).toBe(200);
      expect(scrape.body).toContain('cyphr_http_requests_total');
    }
    for (let i = 0; i < 20; i++) await freshGet(port, '/health');
    const after = await Promise.all(apiMetricsPorts.map((p) => freshGet(p, '/metrics')));
    const served = after.map(
      (scrape, n) =>
        counter(scrape.body, 'cyphr_http_requests_total') - counter(before[n].body, 'cyphr_http_requests_total'),
    );
    // The 20 requests through the shared port are counted once, split between the two registries.
    expect(served[0] + served[1]).toBe(20);
    expect((await freshGet(apiMetricsPorts[0], '/health')).status).toBe(404);
  });

  it('delivers through the shared port and stores with two worker processes', async () => {
    const direct = new CyphrClient(`http://127.0.0.1:${port}`);
    const [dana, erin] = [await direct.register(), await direct.register()];
    const conversations = [
      await direct.createConversation(dana, [erin.userId]),
      await direct.createConversation(erin, [dana.userId]),
    ];
    const live = await direct.connect(erin);
    const storedBefore = await Promise.all(workerMetricsPorts.map((p) => freshGet(p, '/metrics')));
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) sent.push((await direct.send(dana, conversations[i % 2])).id);
    for (const id of sent)
      await live.next((event) => event.type === 'message' && (event as { message: { id: string } }).message.id === id);
    live.close();
    const storedAfter = await Promise.all(workerMetricsPorts.map((p) => freshGet(p, '/metrics')));
    const stored = storedAfter.map(
      (scrape, n) =>
        counter(scrape.body, 'cyphr_worker_messages_stored_total') -
        counter(storedBefore[n].body, 'cyphr_worker_messages_stored_total'),
    );
    process.stdout.write(`boot: two worker processes stored ${stored.join(' + ')} of ${sent.length}\n`);
    expect(stored[0] + stored[1]).toBe(sent.length);
  });

  it('keeps serving on the shared port while one of its processes drains and exits', async () => {
    const direct = new CyphrClient(`http://127.0.0.1:${port}`);
    const [frank, grace] = [await direct.register(), await direct.register()];
    const conversation = await direct.createConversation(frank, [grace.userId]);
    const failures: string[] = [];
    let accepted = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        try {
          await direct.send(frank, conversation, undefined, randomUUID());
          accepted++;
        } catch (error) {
          failures.push(String(error));
        }
      }
    })();
    await sleep(500);
    // systemctl stop cyphr-api@0: its sibling keeps the port open, so no send fails, and no new one is refused.
    expect(await processes[0].stop('SIGTERM')).toBe(0);
    await sleep(1_000);
    sending = false;
    await sender;
    expect(failures).toEqual([]);
    expect(accepted).toBeGreaterThan(10);
    expect((await freshGet(port, '/health')).status).toBe(200);
  });
});

describe('an API process stopping while clients keep connecting, with the image’s kernel settings', () => {
  jest.setTimeout(120_000);
  const host = 'api-3';
  let port: number;
  let namespace: NetworkNamespace;
  let processes: ManagedProcess[] = [];

  /** support/port-handover.ts inside the namespace: `wait` for the processes, or run the `clients`. */
  const handover = async (args: string[]): Promise<string> => {
    const script = join(__dirname, 'support', 'port-handover.ts');
    const [command, commandArgs] = namespace.enter(node, ['-r', 'ts-node/register/transpile-only', script, ...args]);
    const { stdout } = await run(command, commandArgs, { cwd: ROOT });
    return stdout.trim().split('\n').pop()!;
  };

  beforeAll(async () => {
    // Setting it on this machine would change every other process's network: the two processes, their clients
    // and the kernel setting get a network namespace of their own, which reaches the services through relays.
    port = await freePort();
    writeApiEnvFile(host, port);
    namespace = await NetworkNamespace.open(node, ROOT, KERNEL_SETTINGS, loopbackPorts(ran[host]));
    // The units' own metrics ports (948<n>): nothing else listens in the namespace.
    processes = [0, 1].map((n) => startUnit(host, `cyphr-api@${n}.service`, {}, namespace));
    await handover(['wait', String(port), '2']);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await namespace?.close();
  });

  it('hands the connections queued on the stopping process to its sibling: no client sees a reset', async () => {
    // 64 clients, a new connection per request, for 7 s; cyphr-api@0 gets SIGTERM after 1.5 s and drains (lame
    // duck, then its listener closes) while they keep connecting.
    const clients = handover(['clients', String(port), '7000']);
    await sleep(1_500);
    expect(await processes[0].stop('SIGTERM')).toBe(0);
    const result = JSON.parse(await clients) as HandoverResult;
    process.stdout.write(`boot: port hand-over ${JSON.stringify(result)}\n`);
    expect(result.tcpMigrateReq).toBe(KERNEL_SETTINGS['net.ipv4.tcp_migrate_req']);
    // Both processes answered, so the stopping one had connections coming to it.
    expect(Object.keys(result.servedBy).filter((id) => !/^\d+$/.test(id))).toHaveLength(2);
    expect({ resets: result.resets, otherErrors: result.otherErrors }).toEqual({ resets: 0, otherErrors: {} });
  });
});
