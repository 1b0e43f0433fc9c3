import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A throwaway Redis Cluster for tests: `masters` redis-server processes (cluster mode, no replicas, no
 * persistence) on free loopback ports in a temporary folder, joined with `redis-cli --cluster create`.
 * What ElastiCache runs for the large tier, minus TLS and replicas. `stop()` ends every process and
 * removes the folder; a test process that exits without calling it still kills them (exit hook).
 */
export interface RedisClusterHandle {
  /** redis://:password@127.0.0.1:port of the first node: a root node, as the configuration endpoint is on AWS. */
  url: string;
  /** The same without credentials, for tests that pass the password as the auth token. */
  urlWithoutPassword: string;
  ports: number[];
  password?: string;
  /** Runs redis-cli against one node, e.g. `cli(port, 'PUBSUB', 'SHARDCHANNELS')`; answers stdout. */
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const run = promisify(execFile);
const REDIS_SERVER = process.env.CYPHR_REDIS_SERVER ?? 'redis-server';
const REDIS_CLI = process.env.CYPHR_REDIS_CLI ?? 'redis-cli';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Ports P such that P and its cluster bus port P + 10000 are both free now. */
export async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  const taken = new Set<number>();
  for (let index = 0; index < count; index++) {
    const port = await freePortPair(taken);
    taken.add(port).add(port + 10_000);
    ports.push(port);
  }
  return ports;
}

async function freePortPair(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

export async function startRedisCluster(
  options: {
    masters?: number;
    password?: string;
    /** From freeClusterPorts, for a client made before the cluster exists; chosen here by default. */
    ports?: number[];
  } = {},
): Promise<RedisClusterHandle> {
  const masters = options.ports?.length ?? options.masters ?? 3;
  const password = options.password;
  const dir = mkdtempSync(join(tmpdir(), 'cyphr-redis-cluster-'));
  const children: ChildProcess[] = [];
  const killAll = () =>
    children.forEach((child) => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  process.once('exit', killAll);
  const auth = password ? ['-a', password, '--no-auth-warning'] : [];
  const cli = async (port: number, ...args: string[]) =>
    (await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args])).stdout;

  const stop = async () => {
    process.removeListener('exit', killAll);
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => (clearTimeout(hard), resolve()));
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const ports = options.ports ?? (await freeClusterPorts(masters));
    for (const port of ports) {
      const args = [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '5000',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--logfile',
        join(dir, `${port}.log`),
        ...(password ? ['--requirepass', password, '--masterauth', password] : []),
      ];
      const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
      child.once('error', () => undefined);
      children.push(child);
    }
    for (const port of ports)
      await waitFor(
        async () => (await cli(port, 'PING')).trim() === 'PONG',
        `node ${port} up`,
        () => log(dir, port),
      );
    await run(REDIS_CLI, [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
      ...auth,
    ]);
    for (const port of ports) {
      await waitFor(
        async () => {
          const info = await cli(port, 'CLUSTER', 'INFO');
          return (
            info.includes('cluster_state:ok') &&
            info.includes(`cluster_known_nodes:${masters}`) &&
            info.includes('cluster_slots_ok:16384')
          );
        },
        `cluster_state:ok on ${port}`,
        () => log(dir, port),
      );
    }
    const credentials = password ? `:${encodeURIComponent(password)}@` : '';
    return {
      url: `redis://${credentials}127.0.0.1:${ports[0]}`,
      urlWithoutPassword: `redis://127.0.0.1:${ports[0]}`,
      ports,
      password,
      cli,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitFor(
  probe: () => Promise<boolean>,
  what: string,
  detail: () => string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}\n${detail()}`);
    await sleep(100);
  }
}

function log(dir: string, port: number): string {
  try {
    return readFileSync(join(dir, `${port}.log`), 'utf8')
      .split('\n')
      .slice(-15)
      .join('\n');
  } catch {
    return '(no log)';
  }
}
