import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a worker profile's CPU went: the self time of a --cpu-prof file by package and by function, and the
 * inclusive time of functions whose name or file matches a filter (what a subsystem costs in all).
 *   npx ts-node --transpile-only worker/bench/profile-summary.ts <file.cpuprofile | dir (newest)> [count=30] [filter]
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

const packageOf = (url: string, name: string) => {
  if (!url) return name;
  if (url.startsWith('node:')) return 'node core';
  if (!url.includes('node_modules/')) return 'cyphr';
  const rest = url.split('node_modules/').pop()!.split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
};

export function summarize(file: string, count = 30, filter?: RegExp): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] / 1000;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') return;
    total += delta;
    const where = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/build\//, '');
    const key = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + delta);
    const pkg = packageOf(frame.url, frame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + delta);
    if (!filter) return;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/build\//, '')}:${f.lineNumber}`;
      if (seen.has(name) || !filter.test(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + delta);
    }
  });
  const fmt = (entries: Map<string, number>, n: number) =>
    [...entries.entries()]
      .sort(([, x], [, y]) => y - x)
      .slice(0, n)
      .map(([key, ms]) => `${((100 * ms) / total).toFixed(1).padStart(5)} %  ${key}`);
  return [
    `busy ${total.toFixed(0)} ms sampled (idle and (program) excluded)`,
    'by package:',
    ...fmt(byPackage, 20),
    '',
    'by function (self time):',
    ...fmt(self, count),
    ...(filter ? ['', `inclusive, matching ${filter}:`, ...fmt(inclusive, count)] : []),
  ];
}

if (require.main === module) {
  const target = process.argv[2] ?? '/tmp/cyphr-worker-prof';
  const file = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((name) => name.endsWith('.cpuprofile'))
        .map((name) => join(target, name))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
    : target;
  const filter = process.argv[4] ? new RegExp(process.argv[4]) : undefined;
  console.log(summarize(file, Number(process.argv[3] ?? 30), filter).join('\n'));
}
