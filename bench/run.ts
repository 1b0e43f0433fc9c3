import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadLocalEnvFile } from '../common/config/local-env-file';
import { openDatabase, testSqs } from '../worker/test/helpers';
import { capacityModel } from './capacity';
import { Options, parseOptions } from './options';
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
import { measureModerate } from './phases/moderate';
import { measureSendPath } from './phases/send-path';
import {
  BenchReport,
  completeFigures,
  figuresOf,
  Measurements,
  ratiosOf,
  REPORT_SECTIONS,
  ReportSection,
  targetsOf,
} from './report';
import { renderMarkdown } from './render';
import { BenchSettings, SETTINGS } from './settings';

/** Every phase in the order a full run takes them; each starts its own processes. */
const PHASES: {
  [K in ReportSection]: {
    name: string;
    what: (s: BenchSettings) => string;
    run: (ctx: BenchContext) => Promise<NonNullable<Measurements[K]>>;
  };
} = {
  limits: {
    name: 'limits',
    what: () => 'SQS, PostgreSQL and Redis alone',
    run: (ctx) => measureLimits(ctx.sqs, ctx.settings.limits, ctx.progress),
  },
  sendPath: { name: 'send path', what: () => 'one API process, 1:1 and group', run: measureSendPath },
  moderate: {
    name: 'moderate',
    what: (s) =>
      `2 API processes + worker, LOG_LEVEL=info, ${s.moderate.senders} senders × ${s.moderate.ratePerSender}/s, pushes`,
    run: measureModerate,
  },
  endToEnd: { name: 'end to end', what: (s) => `${s.e2eRates.join(' and ')} msg/s`, run: measureEndToEnd },
  connections: {
    name: 'connections',
    what: (s) => `${s.connections.target} WebSockets`,
    run: measureConnections,
  },
  drain: { name: 'worker drain', what: (s) => `${s.drainMessages} messages`, run: measureDrain },
  history: { name: 'history', what: () => 'replica reads', run: measureHistory },
};

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

/**
 * `npm run bench [-- --quick|--tiny] [--only phase,...] [--assume key=value,...] [--out dir]`: builds the API
 * and worker, registers users through the API, runs every phase (or only those named) with fresh processes,
 * writes bench/reports/<timestamp>.{json,md} and latest.{json,md}. `--model-only` recomputes the capacity model
 * from reports/latest.json with other assumptions, without measuring.
 */
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
    fixtures = await createFixtures(setupApi.url, settings.users, settings.groups, (done) =>
      progress.update(`registered ${done}/${settings.users} users`),
    );
  } finally {
    await setupApi.stop();
  }
  progress.note(
    `${fixtures.users.length} users, ${fixtures.pairs.length} 1:1 and ${fixtures.groups.length} group conversations`,
  );

  const sqs = testSqs();
  const ctx: BenchContext = { settings, progress, fixtures, sqs };
  const phases = options.only ?? [...REPORT_SECTIONS];
  try {
    const measurements: Measurements = {};
    for (const section of phases) {
      const phase = PHASES[section];
      progress.begin(phase.name, phase.what(settings));
      Object.assign(measurements, { [section]: await phase.run(ctx) });
    }
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
      phases,
      measurements,
      ratios: ratiosOf(measurements),
      targets: targetsOf(measurements),
      figures,
      assumptions: options.assumptions,
      capacity: completeFigures(figures) ? capacityModel(figures, options.assumptions) : undefined,
    };
    return { report, files: write(options.out, report) };
  } finally {
    sqs.destroy();
  }
}

function modelOnly(options: Options): void {
  const report = JSON.parse(readFileSync(join(options.out, 'latest.json'), 'utf8')) as BenchReport;
  if (!completeFigures(report.figures))
    throw new Error('reports/latest.json is from a run with --only: the capacity model needs every phase');
  report.assumptions = options.assumptions;
  report.capacity = capacityModel(report.figures, options.assumptions);
  console.log(renderMarkdown(report).split('## Capacity model')[1].split('## Method')[0].trim());
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // README: toolchain
  const options = parseOptions(process.argv.slice(2));
  if (options.modelOnly) return modelOnly(options);
  if (!options.only || options.only.includes('connections'))
    ensureOpenFiles(SETTINGS[options.mode].connections.target + 2_000);
  const { report, files } = await runBench(options);
  console.log(renderMarkdown(report).split('## Limits and ratios')[0].trim());
  console.log(`\nSections: ${report.phases.join(', ')}. Report: ${files.join(', ')}`);
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
