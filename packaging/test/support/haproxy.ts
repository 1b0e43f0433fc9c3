import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../../../scripts/testing/waiting';

export interface Backend {
  name: string;
  port: number;
}

export interface LoadBalancer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

const HAPROXY_CANDIDATES = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy'];

export function haproxyBinary(): string {
  const found = HAPROXY_CANDIDATES.find((path) => existsSync(path));
  if (!found)
    throw new Error('haproxy not found: install it (apt-get install haproxy; .ci/run does) to run the boot tests');
  return found;
}

/**
 * The ALB's job on loopback: round-robin over the API processes, an active health check on /health
 * (as the target group does), WebSocket upgrades passed through. Each response names its backend in
 * X-Cyphr-Backend so a test can tell which process served it.
 */
export function haproxyConfig(port: number, backends: Backend[]): string {
  return [
    'global',
    '  maxconn 4000',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 2',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend api',
    'backend api',
    '  balance roundrobin',
    // As the ALB does: the client address travels in X-Forwarded-For.
    '  option forwardfor',
    '  option httpchk GET /health',
    '  http-check expect status 200',
    '  http-response set-header X-Cyphr-Backend %s',
    // inter 500ms, fall 2: a dead process leaves the pool within about a second (the ALB takes longer).
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check inter 500ms fall 2 rise 2`),
    '',
  ].join('\n');
}

export async function startLoadBalancer(port: number, backends: Backend[]): Promise<LoadBalancer> {
  const dir = mkdtempSync(join(tmpdir(), 'cyphr-haproxy-'));
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(port, backends));
  // -db: stay in the foreground, so the child is the proxy and dies with the test.
  const child: ChildProcess = spawn(haproxyBinary(), ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitForPort(port, 10_000, () => (child.exitCode !== null ? `haproxy exited: ${stderr}` : undefined));
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
