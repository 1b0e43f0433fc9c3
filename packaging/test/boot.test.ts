import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { createSqsClient } from '../../common/aws/sqs-client';
import { parseEnvFile } from '../../common/config/local-env-file';
import { ApiError, CyphrClient, LiveConnection, Session } from '../../scripts/testing/api-client';
import { LoadBalancer, startLoadBalancer } from './support/haproxy';
import { ManagedProcess } from './support/processes';
import { eventually, freePort } from '../../scripts/testing/waiting';

/**
 * Proof by booting: `npm run package` builds the archive; install.sh installs it into a temporary prefix
 * exactly as the image component does; then two API processes and one worker run from the installed
 * release against the local services, behind HAProxy standing in for the ALB (/health checks, round robin).
 */
const ROOT = resolve(__dirname, '..', '..');

/** `eventually`, where a probe that throws (a process not listening yet, a 502 while a backend is down) means "not yet". */
const untilReady = <T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> =>
  eventually(() => probe().catch(() => undefined), timeoutMs, what, 100);
const work = mkdtempSync(join(tmpdir(), 'cyphr-boot-'));
const prefix = join(work, 'opt');
const etc = join(work, 'etc');
const sqs = createSqsClient({ AWS_REGION: process.env.AWS_REGION!, SQS_ENDPOINT: process.env.SQS_ENDPOINT });
const suffix = Math.random().toString(36).slice(2, 8);
const queueUrls: string[] = [];

let settings: Record<string, string>;
let apis: ManagedProcess[] = [];
let apiPorts: number[] = [];
let worker: ManagedProcess;
let balancer: LoadBalancer;
let client: CyphrClient;
const bootToHealthyMs: number[] = [];

async function createQueues(): Promise<{ messages: string; notifications: string }> {
  // The stack's shape: the messages queue is FIFO (grouped by conversation) with a FIFO DLQ of its own.
  const fifo = { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' };
  const make = async (name: string, attributes: Record<string, string>) => {
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    queueUrls.push(created.QueueUrl!);
    return created.QueueUrl!;
  };
  const redriveTo = async (dlqUrl: string) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const redrive = JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 5 });
    return { VisibilityTimeout: '5', RedrivePolicy: redrive };
  };
  const messagesDlq = await make(`boot-messages-dlq-${suffix}.fifo`, fifo);
  const dlq = await make(`boot-dlq-${suffix}`, {});
  return {
    messages: await make(`boot-messages-${suffix}.fifo`, { ...fifo, ...(await redriveTo(messagesDlq)) }),
    notifications: await make(`boot-notifications-${suffix}`, await redriveTo(dlq)),
  };
}

/** The env file user data writes (non-secret settings plus, locally, the dev credentials), read as systemd would. */
function writeEnvironmentFile(queues: { messages: string; notifications: string }): Record<string, string> {
  const keys = ['DATABASE_URL', 'DATABASE_REPLICA_URLS', 'REDIS_URL', 'AWS_REGION', 'SQS_ENDPOINT', 'JWT_SECRET'];
  const lines = keys.map((key) => `${key}=${process.env[key] ?? ''}`);
  lines.push(
    `SQS_MESSAGES_QUEUE_URL=${queues.messages}`,
    `SQS_NOTIFICATIONS_QUEUE_URL=${queues.notifications}`,
    'LOG_LEVEL=warn',
  );
  // Every test client comes from 127.0.0.1; suites re-run within the hour, so the per-address limits are raised.
  lines.push('RATE_LIMITS=registerIp=100000/3600,ip=1000000/60,user=100000/60,send=100000/60');
  writeFileSync(join(etc, 'cyphr.env'), `${lines.join('\n')}\n`, { mode: 0o600 });
  return parseEnvFile(readFileSync(join(etc, 'cyphr.env'), 'utf8'));
}

function installedEntry(name: 'server' | 'worker'): string {
  return join(prefix, 'current', 'app', name, 'main.js');
}

async function startApi(index: number, port: number): Promise<ManagedProcess> {
  const started = Date.now();
  const api = new ManagedProcess(
    `api-${index}`,
    process.execPath,
    [installedEntry('server')],
    { ...settings, PATH: process.env.PATH!, PORT: String(port), CYPHR_ROLE: 'api' },
    work,
  ).start();
  await untilReady(
    async () => ((await fetch(`http://127.0.0.1:${port}/health`)).ok ? true : undefined),
    30_000,
    `api-${index} healthy`,
  );
  bootToHealthyMs.push(Date.now() - started);
  return api;
}

function startWorker(): ManagedProcess {
  return new ManagedProcess(
    'worker',
    process.execPath,
    [installedEntry('worker')],
    {
      ...settings,
      PATH: process.env.PATH!,
      CYPHR_ROLE: 'worker',
      WORKER_METRICS_PORT: '0',
      WORKER_WAIT_TIME_SECONDS: '1',
      WORKER_VISIBILITY_TIMEOUT_SECONDS: '5',
      WORKER_SHUTDOWN_TIMEOUT_MS: '5000',
    },
    work,
  ).start();
}

async function primaryCount(conversationId: string): Promise<{ rows: number; distinct: number }> {
  const db = new Client({ connectionString: settings.DATABASE_URL });
  await db.connect();
  try {
    const { rows } = await db.query(
      'SELECT count(*)::int AS rows, count(DISTINCT client_message_id)::int AS distinct FROM messages WHERE conversation_id = $1',
      [conversationId],
    );
    return rows[0];
  } finally {
    await db.end();
  }
}

/** Sends like a mobile client on a flaky network: on a gateway error or a reset, retry with the same clientMessageId. */
async function sendWithRetry(sender: Session, conversationId: string, clientMessageId: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await client.send(sender, conversationId, undefined, clientMessageId)).id;
    } catch (error) {
      const retriable = !(error instanceof ApiError) || error.status >= 500;
      if (!retriable || attempt >= 10) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

beforeAll(async () => {
  execFileSync('bash', [join(ROOT, 'packaging', 'build-bundle.sh')], { cwd: ROOT, stdio: 'pipe' });
  const archive = readFileSync(join(ROOT, 'dist', 'LATEST'), 'utf8').trim();
  const unpacked = join(work, 'unpacked');
  execFileSync('mkdir', ['-p', unpacked, etc]);
  execFileSync('tar', ['-xzf', join(ROOT, archive), '-C', unpacked]);
  const [bundleDir] = readdirSync(unpacked);
  execFileSync(
    'bash',
    [
      join(unpacked, bundleDir, 'install.sh'),
      '--prefix',
      prefix,
      '--etc',
      etc,
      '--systemd-dir',
      join(work, 'systemd'),
      '--no-system-user',
    ],
    { stdio: 'pipe' },
  );

  settings = writeEnvironmentFile(await createQueues());
  // cyphr-migrate.service: once, before the API takes traffic.
  execFileSync(process.execPath, [join(prefix, 'current', 'app', 'common', 'database', 'migrate.js')], {
    env: { ...settings, PATH: process.env.PATH! },
    stdio: 'pipe',
  });

  const [portA, portB, lbPort] = [await freePort(), await freePort(), await freePort()];
  apiPorts = [portA, portB];
  apis = [await startApi(0, portA), await startApi(1, portB)];
  worker = startWorker();
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
  await Promise.all(queueUrls.map((QueueUrl) => sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => undefined)));
  sqs.destroy();
  process.stdout.write(`boot: API boot-to-healthy ${bootToHealthyMs.join(' ms, ')} ms\n`);
  rmSync(work, { recursive: true, force: true });
});

describe('the installed bundle', () => {
  it('lays out a release with hardened units pointing at it', () => {
    const unit = readFileSync(join(work, 'systemd', 'cyphr-api.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} --enable-source-maps ${prefix}/current/app/server/main.js`);
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
    expect(readFileSync(join(work, 'systemd', 'cyphr-worker.service'), 'utf8')).toMatch(/app\/worker\/main\.js/);
    expect(readFileSync(join(work, 'systemd', 'cyphr-migrate.service'), 'utf8')).toMatch(/Type=oneshot/);
    const manifest = JSON.parse(readFileSync(join(prefix, 'current', 'manifest.json'), 'utf8'));
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+\+[0-9a-f]{12}/);
  });

  it('ships production dependencies only', () => {
    const modules = readdirSync(join(prefix, 'current', 'node_modules'));
    expect(modules).toContain('@nestjs');
    for (const devOnly of ['jest', 'typescript', 'cdktf', 'fauxqs', 'ts-node']) expect(modules).not.toContain(devOnly);
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
    // SQS standard queues and parallel receive loops do not keep send order: history is in storage order (seq).
    expect(new Set(history.map((m) => m.id))).toEqual(new Set(sent));
    expect(history.map((m) => BigInt(m.seq))).toEqual(
      [...history.map((m) => BigInt(m.seq))].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)),
    );
    expect((await client.fullHistory(alice, conversationId)).map((m) => m.id)).toEqual(history.map((m) => m.id));

    await client.markRead(bob, conversationId, sent[sent.length - 1]);
    await aliceLive.next((event) => event.type === 'receipt' && (event as { userId: string }).userId === bob.userId);
  });

  it('loses no accepted message when an API process is killed', async () => {
    const accepted = new Set<string>();
    const victim = apis[0];
    for (let i = 0; i < 40; i++) {
      if (i === 10) await victim.stop('SIGKILL');
      accepted.add(await sendWithRetry(alice, conversationId, randomUUID()));
    }
    expect(victim.running).toBe(false);
    expect(accepted.size).toBe(40);
    const stored = await untilReady(
      async () => {
        const ids = new Set((await client.fullHistory(alice, conversationId)).map((m) => m.id));
        return [...accepted].every((id) => ids.has(id)) ? ids : undefined;
      },
      20_000,
      'every accepted message in history',
    );
    expect(stored.size).toBe(45);
    // Bring the process back for the next cases (the ALB would launch a replacement).
    apis[0] = await startApi(0, apiPorts[0]);
  });

  it('stores every message exactly once when the worker is killed with SIGKILL and restarted', async () => {
    const before = await primaryCount(conversationId);
    const sends = Array.from({ length: 60 }, () => sendWithRetry(bob, conversationId, randomUUID()));
    const ids = await Promise.all(sends.slice(0, 30));
    await worker.stop('SIGKILL');
    ids.push(...(await Promise.all(sends.slice(30))));
    worker = startWorker();
    const after = await untilReady(
      async () => {
        const counts = await primaryCount(conversationId);
        return counts.rows >= before.rows + 60 ? counts : undefined;
      },
      40_000,
      'all 60 messages stored',
    );
    // A few extra seconds for any redelivery (visibility timeout 5 s) to show up as a duplicate, if one were made.
    await new Promise((r) => setTimeout(r, 6_000));
    const settled = await primaryCount(conversationId);
    expect(after.rows).toBe(before.rows + 60);
    expect(settled.rows).toBe(before.rows + 60);
    expect(settled.distinct).toBe(settled.rows);
    expect(new Set(ids).size).toBe(60);
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
    await new Promise((r) => setTimeout(r, 20));
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
