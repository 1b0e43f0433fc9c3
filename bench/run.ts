import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadLocalEnvFile } from '../common/config/local-env-file';
import { openDatabase, testSqs } from '../worker/test/helpers';
import { capacityModel, DemandAssumptions, parseAssumptions } from './capacity';
import { loadAverage } from './lib/cpu';
import { createFixtures } from './lib/fixtures';
import { buildProcesses, ROOT, startApi } from './lib/processes';
import { Progress } from './lib/progress';
import { BenchContext } from './phases/common';
import { measureConnections } from './phases/connections';
import { measureDrain } from './phases/drain';
import { measureEndToEnd } from './phases/end-to-end';
import { measureHistory } from './phases/history';
import { measureLimits } from './phases/limits';
import { measureSendPath } from './phases/send-path';
import { BenchReport, figuresOf, Measurements, ratiosOf, REPORT_SECTIONS, targetsOf } from './report';
import { renderMarkdown } from './render';
import { BenchMode, SETTINGS } from './settings';

/**
 * `npm run bench [-- --quick] [--assume key=value,...] [--out dir]`: builds the API and worker, registers users
 * through the API, runs every phase with fresh processes, writes bench/reports/<timestamp>.{json,md} and
 * latest.{json,md}. `--model-only` recomputes the capacity model from reports/latest.json with other
 * assumptions, without measuring.
 */
interface Options {
  mode: BenchMode;
  out: string;
  assumptions: DemandAssumptions;
  modelOnly: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const known = new Set(['--quick', '--tiny', '--model-only', '--assume', '--out']);
  const unknown = argv.filter(
    (arg, index) => arg.startsWith('--') && !known.has(arg) && !['--assume', '--out'].includes(argv[index - 1]),
  );
  if (unknown.length) throw new Error(`unknown option(s) ${unknown.join(' ')}; known: ${[...known].join(' ')}`);
  return {
    mode: argv.includes('--tiny') ? 'tiny' : argv.includes('--quick') ? 'quick' : 'full',
    out: value('--out') ?? join(ROOT, 'bench', 'reports'),
    assumptions: parseAssumptions(value('--assume')),
    modelOnly: argv.includes('--model-only'),
  };
}

/** 10,000 client sockets need more than the usual 1,024 descriptors: re-run under `ulimit -n 65536` once. */
function ensureOpenFiles(needed: number): void {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((text) => text.startsWith('Max open files'));
  const soft = Number(line?.split(/\s+/)[3]);
  if (!(soft < needed) || process.env.CYPHR_BENCH_REEXEC) return;
  const result = spawnSync(
    'bash',
    ['-c', 'ulimit -n 65536 && exec "$0" "$@"', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, CYPHR_BENCH_REEXEC: '1' },
    },
  );
  process.exit(result.status ?? 1);
}

function commit(): string {
  const result = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'server', 'worker', 'common'], {
    cwd: ROOT,
    encoding: 'utf8',
  }).stdout.trim();
  return `${result.stdout.trim() || 'unknown'}${dirty ? ' (server/worker/common modified)' : ''}`;
}

function write(out: string, report: BenchReport): string[] {
  mkdirSync(out, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const markdown = `${renderMarkdown(report)}\n`;
  const files = [`${stamp}.json`, `${stamp}.md`, 'latest.json', 'latest.md'].map((name) => join(out, name));
  writeFileSync(files[0], json);
  writeFileSync(files[1], markdown);
  writeFileSync(files[2], json);
  writeFileSync(files[3], markdown);
  return files;
}

export async function runBench(options: Options): Promise<{ report: BenchReport; files: string[] }> {
  const settings = SETTINGS[options.mode];
  const progress = new Progress();
  const started = new Date();
  const loadBefore = loadAverage();
  progress.begin('setup', `${options.mode} run; load average ${loadBefore.join(' / ')} on ${cpus().length} cores`);
  loadLocalEnvFile();
  const db = await openDatabase(); // applies migrations
  await db.destroy();
  progress.update('building the API and the worker');
  const buildSeconds = await buildProcesses();
  progress.note(`built in ${buildSeconds.toFixed(1)} s`);

  const setupApi = await startApi();
  let fixtures;
  try {
    fixtures = await createFixtures(setupApi.url, settings.users, (done) =>
      progress.update(`registered ${done}/${settings.users} users`),
    );
  } finally {
    await setupApi.stop();
  }
  progress.note(`${fixtures.users.length} users, ${fixtures.pairs.length} conversations`);

  const sqs = testSqs();
  const ctx: BenchContext = { settings, progress, fixtures, sqs };
  const phase = async <T>(name: string, what: string, work: () => Promise<T>): Promise<T> => {
    progress.begin(name, what);
    return work();
  };
  try {
    const measurements: Measurements = {
      limits: await phase('limits', 'SQS, PostgreSQL and Redis alone', () =>
        measureLimits(sqs, settings.limits, progress),
      ),
      sendPath: await phase('send path', 'one API process', () => measureSendPath(ctx)),
      endToEnd: await phase('end to end', `${settings.e2eRates.join(' and ')} msg/s`, () => measureEndToEnd(ctx)),
      connections: await phase('connections', `${settings.connections.target} WebSockets`, () =>
        measureConnections(ctx),
      ),
      drain: await phase('worker drain', `${settings.drainMessages} messages`, () => measureDrain(ctx)),
      history: await phase('history', 'replica reads', () => measureHistory(ctx)),
    };
    const finished = new Date();
    const figures = figuresOf(measurements);
    const report: BenchReport = {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      mode: options.mode,
      seconds: (finished.getTime() - started.getTime()) / 1000,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 1024 ** 3),
        node: process.versions.node,
        commit: commit(),
        loadBefore,
        loadAfter: loadAverage(),
      },
      measurements,
      ratios: ratiosOf(measurements),
      targets: targetsOf(measurements),
      figures,
      assumptions: options.assumptions,
      capacity: capacityModel(figures, options.assumptions),
    };
    return { report, files: write(options.out, report) };
  } finally {
    sqs.destroy();
  }
}

function modelOnly(options: Options): void {
  const report = JSON.parse(readFileSync(join(options.out, 'latest.json'), 'utf8')) as BenchReport;
  report.assumptions = options.assumptions;
  report.capacity = capacityModel(report.figures, options.assumptions);
  console.log(renderMarkdown(report).split('## Capacity model')[1].split('## Method')[0].trim());
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // README: toolchain
  const options = parseOptions(process.argv.slice(2));
  if (options.modelOnly) return modelOnly(options);
  ensureOpenFiles(SETTINGS[options.mode].connections.target + 2_000);
  const { report, files } = await runBench(options);
  console.log(renderMarkdown(report).split('## Limits and ratios')[0].trim());
  console.log(`\nSections: ${REPORT_SECTIONS.join(', ')}. Report: ${files.join(', ')}`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
