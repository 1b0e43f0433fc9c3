// A network namespace of the test's own, for processes that need a kernel setting this machine does not have (and
// must not get: it would change every other process's network). A user namespace makes it possible without root.
// Processes inside still reach the loopback services and stand-ins outside: each named port is relayed through a
// Unix socket (a path, which both namespaces see) to the same port on this machine's 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOLDER = join(__dirname, 'namespace-holder.ts');
/** By its path: the units' environment has systemd's default PATH, which may not be this machine's. */
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter'].find((path) => existsSync(path)) ?? 'nsenter';

/** Every loopback port an env file names (URLs, host:port lists, DATABASE_PORT with a loopback host). */
/**
 * `unshare` arguments that run a TypeScript file on `node` in a network namespace of its own, inside a user namespace
 * (so no root is needed, and sysctls set there are the namespace's alone).
 */
export function inOwnNetworkNamespace(node: string, script: string, ...args: string[]): string[] {
  return ['--user', '--map-root-user', '--net', '--', node, '-r', 'ts-node/register/transpile-only', script, ...args];
}

export function loopbackPorts(envFile: string): number[] {
  const ports = [...envFile.matchAll(/(?:127\.0\.0\.1|localhost):(\d+)/g)].map((m) => Number(m[1]));
  const databasePort = /^DATABASE_PORT=(\d+)$/m.exec(envFile)?.[1];
  if (databasePort && /^DATABASE_HOST=(127\.0\.0\.1|localhost)$/m.test(envFile)) ports.push(Number(databasePort));
  return [...new Set(ports)].sort((a, b) => a - b);
}

function pipe(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

export class NetworkNamespace {
  private constructor(
    private readonly holder: ChildProcess,
    private readonly relays: Server[],
    private readonly dir: string,
  ) {}

  /**
   * A new namespace with loopback up, `sysctls` written (e.g. `{ 'net.ipv4.tcp_migrate_req': '1' }`) and `ports`
   * relayed out. `node` runs the holder (with ts-node), which keeps the namespace alive until `close`.
   */
  static async open(
    node: string,
    cwd: string,
    sysctls: Record<string, string>,
    ports: number[],
  ): Promise<NetworkNamespace> {
    const dir = mkdtempSync(join(tmpdir(), 'cyphr-netns-'));
    const relays = await Promise.all(
      ports.map(
        (port) =>
          new Promise<Server>((resolve, reject) => {
            const server = createServer((inside) => pipe(inside, createConnection({ host: '127.0.0.1', port })));
            server.once('error', reject);
            server.listen(join(dir, `${port}.sock`), () => resolve(server));
          }),
      ),
    );
    const holder = spawn(
      'unshare',
      inOwnNetworkNamespace(node, HOLDER, dir, JSON.stringify(sysctls), ...ports.map(String)),
      { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    holder.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    holder.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const check = () => (output.includes('ready\n') ? resolve() : undefined);
      holder.stdout.on('data', check);
      holder.once('exit', (code) =>
        reject(new Error(`the namespace holder exited ${code} (needs unshare, ip and user namespaces): ${output}`)),
      );
    });
    return new NetworkNamespace(holder, relays, dir);
  }

  /** A command line that runs `command` inside the namespace (nsenter, as the namespace's root user). */
  enter(command: string, args: string[]): [string, string[]] {
    return [
      NSENTER,
      ['--target', String(this.holder.pid), '--user', '--net', '--preserve-credentials', '--', command, ...args],
    ];
  }

  async close(): Promise<void> {
    this.holder.kill('SIGKILL');
    await Promise.all(this.relays.map((server) => new Promise((resolve) => server.close(resolve))));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
