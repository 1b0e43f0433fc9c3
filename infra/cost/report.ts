import { App } from 'cdktf';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeEnvironments } from '../app';
import { ENVIRONMENTS, isTierName, TIERS, type TierName } from '../config';
import { BASELINE_FIGURES, CURRENT_FIGURES, readFigures } from '../../bench/capacity-figures';
import { capacitySavings } from './capacity-savings';
import { priceStack, StackCost } from './price-stack';
import { PRICE_REGION, PRICES_AS_OF } from './prices-us-east-1';
import { renderReport } from './render';
import { resourcesOf, StackJson } from './stack-json';
import { parseUsage, UsageAssumptions } from './usage';

/**
 * `npm run cost [-- --set name=value,...] [--json file] [--stacks dir] [--figures file]`: synthesizes every
 * environment at every tier into a temporary folder (or reads `--stacks`, e.g. cdktf.out/stacks), prices each
 * stack and prints Markdown; `--json file` also writes the figures as JSON (`--json -` prints JSON instead).
 * It also prices what the performance work saves per tier: the fleets the capacity model needs at peak from
 * bench/capacity-figures/baseline-6167a97.json versus `--figures` (a figures file or a bench report;
 * default bench/capacity-figures/current.json).
 */
interface Options {
  usage: UsageAssumptions;
  json?: string;
  stacksDir?: string;
  figures: string;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(name);
    if (index >= 0 && argv[index + 1] === undefined) throw new Error(`${name} needs a value`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const known = ['--set', '--json', '--stacks', '--figures'];
  const unknown = argv.filter(
    (arg, index) => arg.startsWith('--') && !known.includes(arg) && !known.includes(argv[index - 1]),
  );
  if (unknown.length) throw new Error(`unknown option(s) ${unknown.join(' ')}; known: ${known.join(' ')}`);
  return {
    usage: parseUsage(value('--set')),
    json: value('--json'),
    stacksDir: value('--stacks'),
    figures: value('--figures') ?? CURRENT_FIGURES,
  };
}

/** Every environment x tier, synthesized as the tests do (cyphr-<env>-<tier>). */
export function synthesizeAll(outdir: string): string {
  const app = new App({ outdir });
  for (const tier of Object.keys(TIERS)) synthesizeEnvironments(app, { tier });
  app.synth();
  return join(outdir, 'stacks');
}

/** cyphr-<env>-<tier> or cyphr-<env> (the environment's configured tier). */
export function stackIdentity(stack: string): { environment: string; tier: TierName } {
  const match = /^cyphr-(.+?)(?:-(small|medium|large))?$/.exec(stack);
  const environment = match?.[1] ?? stack;
  const tier = match?.[2] ?? ENVIRONMENTS[environment]?.tier;
  if (!tier || !isTierName(tier)) throw new Error(`stack ${stack}: cannot tell its tier (name it cyphr-<env>-<tier>)`);
  return { environment, tier };
}

export function priceStacks(stacksDir: string, usage: UsageAssumptions): StackCost[] {
  const order = (name: string) => Object.keys(TIERS).indexOf(stackIdentity(name).tier);
  return readdirSync(stacksDir)
    .sort((x, y) => x.split('-')[1].localeCompare(y.split('-')[1]) || order(x) - order(y))
    .map((stack) => {
      const json = JSON.parse(readFileSync(join(stacksDir, stack, 'cdk.tf.json'), 'utf8')) as StackJson;
      const { environment, tier } = stackIdentity(stack);
      return priceStack(stack, environment, tier, resourcesOf(json), usage);
    });
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const outdir = options.stacksDir ? undefined : mkdtempSync(join(tmpdir(), 'cyphr-cost-'));
  try {
    const costs = priceStacks(options.stacksDir ?? synthesizeAll(outdir!), options.usage);
    const before = readFigures(BASELINE_FIGURES);
    const after = readFigures(options.figures);
    const savings = {
      rows: capacitySavings(before.figures, after.figures),
      before: before.source,
      after: after.source,
    };
    const json = `${JSON.stringify({ pricesAsOf: PRICES_AS_OF, priceRegion: PRICE_REGION, usage: options.usage, stacks: costs, capacitySavings: savings }, null, 2)}\n`;
    if (options.json === '-') return void process.stdout.write(json);
    if (options.json) writeFileSync(options.json, json);
    console.log(renderReport(costs, options.usage, savings));
  } finally {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`cost: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
