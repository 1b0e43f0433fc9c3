// Run inside a fresh network namespace (port-handover.test.ts starts it with `unshare --net`), so the kernel setting
// it writes is this namespace's alone:
//   node -r ts-node/register port-handover.ts <tcp_migrate_req value>
// Sets net.ipv4.tcp_migrate_req, starts two API stand-ins on one port as the cyphr-api@ units share port 3001, keeps
// opening new connections while the first one gets SIGTERM and drains, and prints what the clients saw as JSON.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createServer, get, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { GracefulDrain } from '../../../server/http/graceful-drain';

export interface HandoverResult {
  tcpMigrateReq: string;
  /** Responses per serving process (pid), before and after the stop. */
  servedBy: Record<string, number>;
  ok: number;
  resets: number;
  /** Any other client error, by code (a refused connection would mean no process listened). */
  otherErrors: Record<string, number>;
  stoppedExitCode: number | null;
}

const PORT = 3001;
const CLIENTS = 64;

/**
 * The API's listener and shutdown as server/bootstrap.ts has them, without Nest: SO_REUSEPORT (REUSE_PORT=true in
 * the unit) and, on SIGTERM, GracefulDrain (lame duck, then the listener closes). Each request costs ~1 ms of CPU,
 * so connections wait in the accept queue as they do on a busy instance.
 */
function serve(): void {
  const server: Server = createServer((_request, response) => {
    const until = Date.now() + 1;
    while (Date.now() < until);
    response.end(String(process.pid));
  });
  const drain = new GracefulDrain(server, 200);
  server.listen({ port: PORT, host: '127.0.0.1', reusePort: true }, () => process.send?.('listening'));
  process.once('SIGTERM', () => {
    void drain.drain(Date.now() + 5_000).then(() => process.exit(0));
  });
}

/** A GET on a new connection (no keep-alive): the kernel picks one of the port's listeners each time. */
function fresh(): Promise<{ pid?: string; error?: string }> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port: PORT, path: '/', agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ pid: body }));
      response.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(value: string): Promise<void> {
  writeFileSync('/proc/sys/net/ipv4/tcp_migrate_req', value);
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const servers: ChildProcess[] = [0, 1].map(() => fork(__filename, ['serve']));
  await Promise.all(servers.map((child) => new Promise((resolve) => child.once('message', resolve))));

  const result: HandoverResult = {
    tcpMigrateReq: value,
    servedBy: {},
    ok: 0,
    resets: 0,
    otherErrors: {},
    stoppedExitCode: null,
  };
  let running = true;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const { pid, error } = await fresh();
      if (pid) {
        result.ok++;
        result.servedBy[pid] = (result.servedBy[pid] ?? 0) + 1;
      } else if (error === 'ECONNRESET') result.resets++;
      else result.otherErrors[error!] = (result.otherErrors[error!] ?? 0) + 1;
    }
  });
  await sleep(500);
  // systemctl stop cyphr-api@0 while the clients keep connecting.
  const exited = new Promise<number | null>((resolve) => servers[0].once('exit', resolve));
  servers[0].kill('SIGTERM');
  result.stoppedExitCode = await exited;
  await sleep(300);
  running = false;
  await Promise.all(clients);
  servers[1].kill('SIGKILL');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[2] === 'serve') serve();
else
  main(process.argv[2]).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
