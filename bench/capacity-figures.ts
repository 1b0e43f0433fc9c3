import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeasuredFigures } from './capacity';
import type { PerCoreFigures } from './capacity-scale';

/**
 * The figures the capacity model reads, committed so every number it prints can be reproduced:
 * - baseline-bd49c52.json: what the tiers were sized from before the performance work (one process per instance);
 * - current.json: the latest measured per-operation costs the tiers are sized from now;
 * - per-core.json: what one core of PostgreSQL and Redis did with our statements (capacity-per-core.ts).
 */
export const FIGURES_DIR = join(__dirname, 'capacity-figures');
export const BASELINE_FIGURES = join(FIGURES_DIR, 'baseline-bd49c52.json');
export const CURRENT_FIGURES = join(FIGURES_DIR, 'current.json');
export const PER_CORE_FIGURES = join(FIGURES_DIR, 'per-core.json');

export interface FiguresFile {
  /** Where the numbers come from (a commit, a report). */
  source: string;
  figures: MeasuredFigures;
}

const REQUIRED: Array<keyof MeasuredFigures> = [
  'apiCpuMsPerMessage',
  'apiCpuMsPerRead',
  'workerCpuMsPerMessage',
  'connectionsHeld',
  'bytesPerConnection',
  'apiCoresPer1000Connections',
  'apiBaseRssMiB',
];

/** Checks the fields the model needs; optional ones (moderate, groupMessage) pass through when present. */
export function checkFigures(figures: unknown, where: string): MeasuredFigures {
  const record = (figures ?? {}) as Record<string, unknown>;
  const missing = REQUIRED.filter((key) => !(typeof record[key] === 'number' && Number.isFinite(record[key])));
  if (missing.length) throw new Error(`${where}: figures lack ${missing.join(', ')}`);
  return record as unknown as MeasuredFigures;
}

/** A figures file, or a bench report (bench/reports/*.json: its `figures`, source = its commit and time). */
export function readFigures(path: string): FiguresFile {
  const json = JSON.parse(readFileSync(path, 'utf8')) as {
    source?: string;
    figures?: unknown;
    startedAt?: string;
    mode?: string;
    machine?: { commit?: string; node?: string };
  };
  const source =
    json.source ??
    `bench report ${json.mode ?? ''} run ${json.startedAt ?? '?'}, commit ${json.machine?.commit ?? '?'}, Node ${json.machine?.node ?? '?'}`.replace(
      /\s+/g,
      ' ',
    );
  return { source, figures: checkFigures(json.figures, path) };
}

export function readPerCore(path: string = PER_CORE_FIGURES): PerCoreFigures {
  if (!existsSync(path)) throw new Error(`${path} is missing: run bench/capacity-per-core.ts with the services up`);
  return JSON.parse(readFileSync(path, 'utf8')) as PerCoreFigures;
}
