// Run inside a network namespace of the test's own, so the kernel setting it writes is this namespace's alone:
//   node -r ts-node/register port-handover.ts <tcp_migrate_req value>
//     (port-handover.test.ts, in `unshare --net`) sets net.ipv4.tcp_migrate_req, starts two API stand-ins on one
//     port as the cyphr-api@ units share port 3001, keeps opening new connections while the first one gets SIGTERM
//     and drains, and prints what the clients saw as JSON;
//   ... port-handover.ts clients <port> <ms>   (the boot test, in its namespace around real API processes)
//     only the clients, for <ms>, against GET /health/ready, counted by the answering process's instance id;
//   ... port-handover.ts wait <port> <processes>   until that many distinct instance ids answer.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createServer, get, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
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
 * the unit) and, on SIGTERM, GracefulDrain (lame duck, then the listener closes). Each request costs ~3 ms of CPU,
 * so connections wait in the accept queue as they do on a busy instance.
 */
function serve(): void {
  const server: Server = createServer((_request, response) => {
    const until = Date.now() + 3;
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
function fresh(port = PORT, path = '/'): Promise<{ pid?: string; error?: string }> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ pid: answeredBy(response.statusCode ?? 0, body) }));
      response.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

/** The API's /health/ready names its instance id; a stand-in answers with its pid; a draining API says 503. */
function answeredBy(status: number, body: string): string {
  if (!body.startsWith('{')) return body || String(status);
  return (JSON.parse(body) as { instanceId?: string }).instanceId ?? String(status);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CLIENTS loops, each opening a new connection per request, until `running()` says stop. */
async function hammer(result: HandoverResult, running: () => boolean, port?: number, path?: string): Promise<void> {
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (running()) {
        const { pid, error } = await fresh(port, path);
        if (pid) {
          result.ok++;
          result.servedBy[pid] = (result.servedBy[pid] ?? 0) + 1;
        } else if (error === 'ECONNRESET') result.resets++;
        else result.otherErrors[error!] = (result.otherErrors[error!] ?? 0) + 1;
      }
    }),
  );
}

const emptyResult = (tcpMigrateReq: string): HandoverResult => ({
  tcpMigrateReq,
  servedBy: {},
  ok: 0,
  resets: 0,
  otherErrors: {},
  stoppedExitCode: null,
});

async function main(value: string): Promise<void> {
  writeFileSync('/proc/sys/net/ipv4/tcp_migrate_req', value);
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const servers: ChildProcess[] = [0, 1].map(() => fork(__filename, ['serve']));
  await Promise.all(servers.map((child) => new Promise((resolve) => child.once('message', resolve))));

  const result = emptyResult(value);
  let running = true;
  const clients = hammer(result, () => running);
  await sleep(500);
  // systemctl stop cyphr-api@0 while the clients keep connecting.
  const exited = new Promise<number | null>((resolve) => servers[0].once('exit', resolve));
  servers[0].kill('SIGTERM');
  result.stoppedExitCode = await exited;
  await sleep(300);
  running = false;
  await clients;
  servers[1].kill('SIGKILL');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function clients(port: number, ms: number): Promise<void> {
  const result = emptyResult(readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim());
  const until = Date.now() + ms;
  await hammer(result, () => Date.now() < until, port, '/health/ready');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function wait(port: number, processes: number): Promise<void> {
  const seen = new Set<string>();
  for (const deadline = Date.now() + 60_000; seen.size < processes; await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`only ${seen.size} of ${processes} processes answer on ${port}`);
    const { pid } = await fresh(port, '/health/ready');
    if (pid && pid !== '503' && pid !== '200') seen.add(pid);
  }
  process.stdout.write(`${JSON.stringify([...seen])}\n`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'serve') serve();
else
  (mode === 'clients'
    ? clients(Number(args[0]), Number(args[1]))
    : mode === 'wait'
      ? wait(Number(args[0]), Number(args[1]))
      : main(mode)
  ).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
