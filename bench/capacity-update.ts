import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TIERS, type TierName } from '../infra/config/tiers';
import { DEFAULT_DEMAND, parseAssumptions, type DemandAssumptions } from './capacity';
import { BASELINE_FIGURES, CURRENT_FIGURES, readFigures, readPerCore, type FiguresFile } from './capacity-figures';
import { CAPACITY_BEGIN, CAPACITY_END, renderCapacity, sizeTiers, type TierSizing } from './capacity-render';

/**
 * `npm run capacity [-- --from file] [--assume key=value,...] [--write]`: the capacity model, the tier sizes it
 * implies, what it saves and the limits past the large tier, as Markdown.
 * `--from` reads other figures (a bench report such as bench/reports/latest.json, or a figures file);
 * `--write` adopts them: bench/capacity-figures/current.json, the group sizes in infra/config/tiers.ts and the
 * README's capacity block (only with the default assumptions: the committed numbers are the default model's).
 */
const ROOT = join(__dirname, '..');
export const TIERS_FILE = join(ROOT, 'infra', 'config', 'tiers.ts');
export const README_FILE = join(ROOT, 'README.md');

/**
 * Rewrites the numbers of each tier's `api: { instanceType, min, max, desired }` and `worker: { ... }` in
 * tiers.ts; everything else (comments, other fields) stays. Fails if a tier's groups cannot be found.
 */
export function rewriteTiersSource(source: string, sizing: TierSizing): string {
  let result = source;
  for (const [tier, groups] of Object.entries(sizing)) {
    const start = result.indexOf(`\n  ${tier}: {`);
    const end = result.indexOf('\n  },', start);
    if (start < 0 || end < 0) throw new Error(`tiers.ts: no block for tier ${tier}`);
    let block = result.slice(start, end);
    for (const role of ['api', 'worker'] as const) {
      const pattern = new RegExp(`(${role}: \\{ instanceType: '[^']+', )min: \\d+, max: \\d+, desired: \\d+`);
      if (!pattern.test(block)) throw new Error(`tiers.ts: no ${role} group in tier ${tier}`);
      const size = groups[role];
      block = block.replace(pattern, `$1min: ${size.min}, max: ${size.max}, desired: ${size.desired}`);
    }
    result = result.slice(0, start) + block + result.slice(end);
  }
  return result;
}

/** Replaces the README's block between the capacity markers (they must both be there, in order). */
export function rewriteReadme(readme: string, block: string): string {
  const start = readme.indexOf(CAPACITY_BEGIN);
  const end = readme.indexOf(CAPACITY_END);
  if (start < 0 || end < start) throw new Error('README.md: the capacity markers are missing');
  return readme.slice(0, start) + block + readme.slice(end + CAPACITY_END.length);
}

function option(argv: string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  if (index >= 0 && argv[index + 1] === undefined) throw new Error(`${name} needs a value`);
  return index >= 0 ? argv[index + 1] : undefined;
}

function main(argv: string[]): void {
  const known = ['--from', '--assume', '--write'];
  const unknown = argv.filter(
    (arg, i) => arg.startsWith('--') && !known.includes(arg) && !['--from', '--assume'].includes(argv[i - 1]),
  );
  if (unknown.length) throw new Error(`unknown option(s) ${unknown.join(' ')}; known: ${known.join(' ')}`);
  const from = option(argv, '--from');
  const demand: DemandAssumptions = parseAssumptions(option(argv, '--assume'));
  const write = argv.includes('--write');
  if (write && option(argv, '--assume')) throw new Error('--write keeps the default assumptions; drop --assume');

  const current: FiguresFile = readFigures(from ? resolve(from) : CURRENT_FIGURES);
  const inputs = { baseline: readFigures(BASELINE_FIGURES), current, perCore: readPerCore(), demand };
  if (write) {
    // The README and tiers.ts are rendered against the tiers as they will be, so size them first.
    const sizing = sizeTiers(current.figures, DEFAULT_DEMAND);
    writeFileSync(CURRENT_FIGURES, `${JSON.stringify(current, null, 2)}\n`);
    writeFileSync(TIERS_FILE, rewriteTiersSource(readFileSync(TIERS_FILE, 'utf8'), sizing));
    const sized = Object.fromEntries(
      (Object.keys(TIERS) as TierName[]).map((name) => [
        name,
        {
          ...TIERS[name],
          api: { ...TIERS[name].api, ...sizing[name].api },
          worker: { ...TIERS[name].worker, ...sizing[name].worker },
        },
      ]),
    ) as typeof TIERS;
    writeFileSync(
      README_FILE,
      rewriteReadme(readFileSync(README_FILE, 'utf8'), renderCapacity({ ...inputs, tiers: sized })),
    );
    console.log(`wrote ${CURRENT_FIGURES}, ${TIERS_FILE}, ${README_FILE}; run prettier on README.md`);
    return;
  }
  console.log(renderCapacity(inputs));
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`capacity: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
