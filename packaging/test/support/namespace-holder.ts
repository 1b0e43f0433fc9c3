// Runs as the first process of a new network namespace (network-namespace.ts starts it with `unshare`):
//   namespace-holder.ts <socket dir> <sysctls as JSON> <port>...
// Writes the namespace's kernel settings, brings loopback up, relays each port on 127.0.0.1 to <socket dir>/<port>.sock
// (the same port outside), says "ready" and stays, keeping the namespace alive, until killed.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';

const [dir, sysctls, ...ports] = process.argv.slice(2);
for (const [key, value] of Object.entries(JSON.parse(sysctls) as Record<string, string>))
  writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value);
execFileSync('ip', ['link', 'set', 'lo', 'up']);

const pipe = (a: Socket, b: Socket) => {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
};
let listening = 0;
for (const port of ports.map(Number))
  createServer((client) => pipe(client, createConnection(join(dir, `${port}.sock`)))).listen(port, '127.0.0.1', () => {
    if (++listening === ports.length) process.stdout.write('ready\n');
  });
if (ports.length === 0) process.stdout.write('ready\n');
