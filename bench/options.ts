import { join } from 'node:path';
import { DemandAssumptions, parseAssumptions } from './capacity';
import { ROOT } from './lib/processes';
import { REPORT_SECTIONS, ReportSection } from './report';
import { BenchMode } from './settings';

/** The command line of `npm run bench` (usage in run.ts). */
export interface Options {
  mode: BenchMode;
  out: string;
  assumptions: DemandAssumptions;
  modelOnly: boolean;
  /** The phases to run, in the bench's order; every phase unless `--only`. */
  only?: ReportSection[];
}

/** `--only moderate,send-path`: section names, case, dashes and underscores aside. */
export function parseOnly(spec: string | undefined): ReportSection[] | undefined {
  if (spec === undefined) return undefined;
  const key = (name: string) => name.toLowerCase().replace(/[-_]/g, '');
  const wanted = spec
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = wanted.filter((name) => !REPORT_SECTIONS.some((section) => key(section) === key(name)));
  if (wanted.length === 0 || unknown.length)
    throw new Error(`--only: unknown phase(s) ${unknown.join(', ') || '(none)'}; known: ${REPORT_SECTIONS.join(', ')}`);
  return REPORT_SECTIONS.filter((section) => wanted.some((name) => key(name) === key(section)));
}

export function parseOptions(argv: string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const withValue = ['--assume', '--out', '--only'];
  const known = new Set(['--quick', '--tiny', '--model-only', ...withValue]);
  const unknown = argv.filter(
    (arg, index) => arg.startsWith('--') && !known.has(arg) && !withValue.includes(argv[index - 1]),
  );
  if (unknown.length) throw new Error(`unknown option(s) ${unknown.join(' ')}; known: ${[...known].join(' ')}`);
  return {
    mode: argv.includes('--tiny') ? 'tiny' : argv.includes('--quick') ? 'quick' : 'full',
    out: value('--out') ?? join(ROOT, 'bench', 'reports'),
    assumptions: parseAssumptions(value('--assume')),
    modelOnly: argv.includes('--model-only'),
    only: parseOnly(argv.includes('--only') ? (value('--only') ?? '') : undefined),
  };
}
