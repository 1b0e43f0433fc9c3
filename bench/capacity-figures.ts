import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEASURED_FIGURE_NAMES, type MeasuredFigures } from './capacity';
import type { PerCoreFigures } from './capacity-scale';

/**
 * The figures the capacity model reads, committed so every number it prints can be reproduced:
 * - baseline-6167a97.json: the same bench on this machine against the code before the performance work (one process per instance);
 * - current.json: the latest measured per-operation costs the tiers are sized from now;
 * - per-core.json: what one core of PostgreSQL and Redis did with our statements (capacity-per-core.ts).
 */
export const FIGURES_DIR = join(__dirname, 'capacity-figures');
export const BASELINE_FIGURES = join(FIGURES_DIR, 'baseline-6167a97.json');
export const CURRENT_FIGURES = join(FIGURES_DIR, 'current.json');
export const PER_CORE_FIGURES = join(FIGURES_DIR, 'per-core.json');

export interface FiguresFile {
  /** Where the numbers come from (a commit, a report). */
  source: string;
  figures: MeasuredFigures;
}

/** Checks the fields the model needs; optional ones (moderate, groupMessage) pass through when present. */
export function checkFigures(figures: unknown, where: string): MeasuredFigures {
  const record = (figures ?? {}) as Record<string, unknown>;
  const missing = MEASURED_FIGURE_NAMES.filter(
    (key) => !(typeof record[key] === 'number' && Number.isFinite(record[key])),
  );
  if (missing.length) throw new Error(`${where}: figures lack ${missing.join(', ')}`);
  return record as unknown as MeasuredFigures;
}

/** The moderate-load phase's shape (PERF.md): 2 API processes, 320 msg/s offered, one worker. */
const MODERATE_DEFAULT_RATES = { apiMessagesPerSecondPerProcess: 160, workerMessagesPerSecondPerProcess: 320 };

interface ModeratePhase {
  apiProcesses?: number;
  /** Summed over the windows. */
  accepted?: number;
  stored?: number;
  /** One window's length. */
  seconds?: number;
  windows?: unknown[];
}

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/**
 * The model's figures from a bench report's flat ones: the seven it always had, plus (when the phases ran) the
 * moderate-load costs with that phase's per-process rates, and a 10-member message's API cost: its accept
 * (`groupSendApiCpuMsPerMessage`) plus the push share of a 1:1 message (end to end minus accept, two sockets: the
 * recipient's and the sender's) for each of its members' sockets. No worker figure for a group message exists
 * yet: the model prices its worker side as a 1:1 message.
 */
export function modelFigures(
  raw: Record<string, unknown>,
  moderatePhase?: ModeratePhase,
  where = 'figures',
): MeasuredFigures {
  const figures = { ...checkFigures(raw, where) };
  const moderateApi = num(raw.moderateApiCpuMsPerMessage);
  const moderateWorker = num(raw.moderateWorkerCpuMsPerMessage);
  if (!figures.moderate && moderateApi !== undefined && moderateWorker !== undefined) {
    // The counts are the windows' sums, so the time is every window's (a report without windows measured one).
    const seconds = (num(moderatePhase?.seconds) ?? 0) * (moderatePhase?.windows?.length || 1);
    const rate = (count: number | undefined, processes: number) =>
      seconds && count !== undefined ? Math.round(count / seconds / processes) : undefined;
    figures.moderate = {
      apiCpuMsPerMessage: moderateApi,
      workerCpuMsPerMessage: moderateWorker,
      apiMessagesPerSecondPerProcess:
        rate(num(moderatePhase?.accepted), num(moderatePhase?.apiProcesses) ?? 2) ??
        MODERATE_DEFAULT_RATES.apiMessagesPerSecondPerProcess,
      workerMessagesPerSecondPerProcess:
        rate(num(moderatePhase?.stored), 1) ?? MODERATE_DEFAULT_RATES.workerMessagesPerSecondPerProcess,
    };
  }
  const groupSend = num(raw.groupSendApiCpuMsPerMessage);
  const send = num(raw.sendApiCpuMsPerMessage);
  const members = num(raw.groupMembers);
  if (!figures.groupMessage && groupSend !== undefined && send !== undefined && members !== undefined) {
    const pushPerSocket = Math.max(0, figures.apiCpuMsPerMessage - send) / 2;
    figures.groupMessage = { apiCpuMsPerMessage: Number((groupSend + pushPerSocket * members).toFixed(3)) };
  }
  return figures;
}

/** What the capacity model reads from a bench report: its flat figures and the moderate-load phase. */
export interface ReportFigures {
  figures?: object;
  measurements?: { moderate?: ModeratePhase };
}

/**
 * The model's figures from a bench report, mapped as above: one function for `npm run capacity --from <report>`,
 * the bench report's capacity section and `npm run bench -- --model-only`, so the three agree.
 */
export function capacityFiguresOf(report: ReportFigures, where = 'report'): MeasuredFigures {
  return modelFigures((report.figures ?? {}) as Record<string, unknown>, report.measurements?.moderate, where);
}

/** A figures file, or a bench report (bench/reports/*.json: its `figures`, source = its commit and time). */
export function readFigures(path: string): FiguresFile {
  const json = JSON.parse(readFileSync(path, 'utf8')) as {
    source?: string;
    startedAt?: string;
    mode?: string;
    machine?: { commit?: string; node?: string };
  } & ReportFigures;
  const source =
    json.source ??
    `the ${json.mode ?? ''} bench run of ${json.startedAt?.slice(0, 10) ?? '?'} at commit ${json.machine?.commit ?? '?'} (Node ${json.machine?.node ?? '?'})`.replace(
      /\s+/g,
      ' ',
    );
  return { source, figures: capacityFiguresOf(json, path) };
}

export function readPerCore(path: string = PER_CORE_FIGURES): PerCoreFigures {
  if (!existsSync(path)) throw new Error(`${path} is missing: run bench/capacity-per-core.ts with the services up`);
  return JSON.parse(readFileSync(path, 'utf8')) as PerCoreFigures;
}
