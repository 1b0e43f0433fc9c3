import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLocalEnvFile } from '../common/config/local-env-file';
import { testSqs } from '../worker/test/helpers';
import { createFixtures } from './lib/fixtures';
import { saturate } from './lib/load';
import { buildProcesses, startApi } from './lib/processes';
import { phaseQueues, sendRequest } from './phases/common';

/**
 * Where the API's CPU goes on the send path: runs one API process under --cpu-prof, saturates
 * POST .../messages for `seconds`, and prints the functions with the most self time (by file).
 *   npx ts-node --transpile-only bench/profile-api.ts [seconds=15] [connections=32] [profileDir=/tmp/cyphr-prof]
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

function topSelfTime(file: string, count = 30): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/bench\/build\//, '');
    const key = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber}`;
    const delta = profile.timeDeltas[index] / 1000;
    self.set(key, (self.get(key) ?? 0) + delta);
    const pkg = frame.url.includes('node_modules/')
      ? frame.url
          .split('node_modules/')[1]
          .split('/')
          .slice(0, frame.url.split('node_modules/')[1].startsWith('@') ? 2 : 1)
          .join('/')
      : frame.url
        ? frame.url.startsWith('node:')
          ? 'node core'
          : 'cyphr'
        : frame.functionName;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + delta);
  });
  const total = [...self.values()].reduce((sum, value) => sum + value, 0);
  const fmt = (entries: Map<string, number>, n: number) =>
    [...entries.entries()]
      .sort(([, x], [, y]) => y - x)
      .slice(0, n)
      .map(([key, ms]) => `${((100 * ms) / total).toFixed(1).padStart(5)} %  ${key}`);
  return ['by package:', ...fmt(byPackage, 15), '', 'by function (self time):', ...fmt(self, count)];
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  loadLocalEnvFile();
  const seconds = Number(process.argv[2] ?? 15);
  const connections = Number(process.argv[3] ?? 32);
  const dir = process.argv[4] ?? '/tmp/cyphr-prof';
  await buildProcesses();
  const sqs = testSqs();
  const queues = await phaseQueues(sqs);
  const api = await startApi(queues.env, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  try {
    const { pairs } = await createFixtures(api.url, 20, { conversations: 0, members: 0 }, () => undefined);
    let sent = 0;
    const result = await saturate(api.url, {
      connections,
      seconds,
      okStatus: 202,
      next: () => sendRequest(pairs[sent++ % pairs.length]),
    });
    console.log(`${result.okPerSecond} accepted/s, p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms`);
  } finally {
    await api.stop();
    await queues.remove();
    sqs.destroy();
  }
  const latest = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .pop()!;
  console.log(topSelfTime(join(dir, latest)).join('\n'));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
