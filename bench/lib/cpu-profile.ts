import { readFileSync } from 'node:fs';

/**
 * A V8 CPU profile (node --cpu-prof) summed by package and by function self time. bench/profile-api.ts prints it
 * for its run; for the profiles CYPHR_BENCH_CPU_PROF makes the bench write:
 *   npx ts-node --transpile-only bench/lib/cpu-profile.ts <file.cpuprofile>...
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export function topSelfTime(file: string, count = 30): string[] {
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

if (require.main === module) {
  for (const file of process.argv.slice(2)) console.log(`${file}\n${topSelfTime(file).join('\n')}\n`);
}
