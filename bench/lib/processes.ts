import { ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/testing/waiting';

export { freePort };

/**
 * The API and the worker run as separate processes, as in production (one `node app/server/main.js` and one
 * `node app/worker/main.js` per instance), from the bench's own build in .local/bench/build. Each is started
 * through bash with a raised open-file limit (systemd gives LimitNOFILE=65536), NODE_ENV=production, logs at warn.
 */
export const ROOT = join(__dirname, '..', '..');
const BUILD = join(ROOT, '.local', 'bench', 'build');

export async function buildProcesses(): Promise<number> {
  const started = Date.now();
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  await promisify(execFile)(tsc, ['-p', join(ROOT, 'bench', 'tsconfig.build.json'), '--noCheck'], { cwd: ROOT });
  return (Date.now() - started) / 1000;
}

export class BenchProcess {
  private stderr = '';
  private exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    child.stdout?.on('data', () => undefined);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Polls `probe` until it answers, failing early (with the process's stderr) if the process exits. */
  async waitUntil(probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited during start-up:\n${this.stderr}`);
      if (await probe().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${this.name} did not start within ${timeoutMs} ms:\n${this.stderr}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function spawnNode(name: string, entry: string, env: Record<string, string>, nodeArgs: string[] = []): BenchProcess {
  const child = spawn(
    'bash',
    ['-c', 'ulimit -n 65536 2>/dev/null || true; exec "$0" "$@"', process.execPath, ...nodeArgs, entry],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        NODE_NO_WARNINGS: '1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new BenchProcess(name, child);
}

/** Rate limits a load test from one address needs (README: RATE_LIMITS). */
export const BENCH_RATE_LIMITS =
  'registerIp=1000000/3600,ip=100000000/60,user=100000000/60,send=100000000/60,upgrade=100000000/60';
/** The connections phase holds 50 sockets per user (README: REALTIME_LIMITS; the default is 10). */
export const BENCH_REALTIME_LIMITS = 'maxSocketsPerUser=1000';

export interface ApiProcess extends BenchProcess {
  url: string;
  port: number;
}

/**
 * Starts a process on a port freePort chose, choosing again when another process (another checkout's bench on
 * this machine) took the port between the choice and the bind.
 */
async function onFreePort<T extends BenchProcess>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      // waitUntil's error carries the process's stderr
      const raced = /EADDRINUSE/.test(String((error as Error).message));
      if (!raced || attempt >= attempts) throw error;
    }
  }
}

export function startApi(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<ApiProcess> {
  return onFreePort((port) => startApiOn(port, env, nodeArgs));
}

async function startApiOn(port: number, env: Record<string, string>, nodeArgs: string[]): Promise<ApiProcess> {
  const api = spawnNode(
    'api',
    join(BUILD, 'server', 'main.js'),
    {
      PORT: String(port),
      RATE_LIMITS: BENCH_RATE_LIMITS,
      REALTIME_LIMITS: BENCH_REALTIME_LIMITS,
      ...env,
    },
    nodeArgs,
  ) as ApiProcess;
  api.port = port;
  api.url = `http://127.0.0.1:${port}`;
  await api.waitUntil(async () => (await fetch(`${api.url}/health`)).ok);
  return api;
}

export interface WorkerProcess extends BenchProcess {
  metricsPort: number;
}

export function startWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  return onFreePort((port) => startWorkerOn(port, env));
}

async function startWorkerOn(metricsPort: number, env: Record<string, string>): Promise<WorkerProcess> {
  const worker = spawnNode('worker', join(BUILD, 'worker', 'main.js'), {
    WORKER_METRICS_PORT: String(metricsPort),
    WORKER_WAIT_TIME_SECONDS: '1',
    ...env,
  }) as WorkerProcess;
  worker.metricsPort = metricsPort;
  await worker.waitUntil(async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok);
  return worker;
}

/** One value of a Prometheus text exposition (first line whose name and labels match exactly). */
export async function scrapeMetric(url: string, series: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return Number(line?.split(' ')[1] ?? NaN);
}
