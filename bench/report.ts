import {
  capacityModel,
  MEASURED_FIGURE_NAMES,
  type DemandAssumptions,
  type MeasuredFigures,
  type TierCapacity,
} from './capacity';
import { capacityFiguresOf } from './capacity-figures';
import { ratio } from './lib/stats';
import type { ConnectionsResult } from './phases/connections';
import type { DrainResult } from './phases/drain';
import type { EndToEndRun } from './phases/end-to-end';
import type { HistoryResult } from './phases/history';
import type { LimitsResult } from './phases/limits';
import type { ModerateResult, WindowFigures } from './phases/moderate';
import type { SendPathResult } from './phases/send-path';

/** The bench report: measured sections, ratios to their limits, targets, and the capacity model. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  commit: string;
  loadBefore: number[];
  loadAfter: number[];
}

/** What each phase measured; a run with `--only` has only the phases it ran. */
export interface Measurements {
  limits?: LimitsResult;
  sendPath?: SendPathResult;
  moderate?: ModerateResult;
  endToEnd?: EndToEndRun[];
  connections?: ConnectionsResult;
  drain?: DrainResult;
  history?: HistoryResult;
}

export interface RatioRow {
  figure: string;
  measured: number;
  limit: string;
  limitValue: number;
  ratio: number;
}

export interface TargetRow {
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  mode: string;
  seconds: number;
  machine: MachineInfo;
  measurements: Measurements;
  /** The phases this run measured (all of REPORT_SECTIONS unless `--only`). */
  phases: ReportSection[];
  ratios: RatioRow[];
  targets: TargetRow[];
  /** Every figure the measured phases yield; complete (the capacity model's input) only when all phases ran. */
  figures: Partial<BenchFigures>;
  assumptions: DemandAssumptions;
  /** Absent when a phase the model needs did not run. */
  capacity?: TierCapacity[];
}

export const REPORT_SECTIONS = [
  'limits',
  'sendPath',
  'moderate',
  'endToEnd',
  'connections',
  'drain',
  'history',
] as const;
export type ReportSection = (typeof REPORT_SECTIONS)[number];

const GiB = 1024 * 1024 * 1024;

type RatioInput = Omit<RatioRow, 'ratio'>;

/** Our throughput beside the raw SQS, PostgreSQL and Redis rates measured in the same run. */
function throughputRatios(m: Measurements, limits: LimitsResult): RatioInput[] {
  const rows: RatioInput[] = [];
  const sqsSend = { limit: 'SQS raw send (batches of 10)', limitValue: limits.sqsSend.messagesPerSecond };
  if (m.sendPath) {
    rows.push({
      figure: 'send path at saturation, 1:1 (accepted/s)',
      measured: m.sendPath.saturation.okPerSecond,
      ...sqsSend,
    });
    const group = m.sendPath.group;
    rows.push({
      figure: `send path at saturation, ${group.members} members (accepted/s)`,
      measured: group.saturation.okPerSecond,
      ...sqsSend,
    });
  }
  if (m.drain) {
    rows.push(
      {
        figure: 'worker drain (stored/s)',
        measured: m.drain.messagesPerSecond,
        limit: 'SQS raw receive + delete',
        limitValue: limits.sqsReceiveDelete.messagesPerSecond,
      },
      {
        figure: 'worker drain (stored/s)',
        measured: m.drain.messagesPerSecond,
        limit: 'PostgreSQL 10-row inserts (rows/s)',
        limitValue: limits.postgresInsert.rowsPerSecond,
      },
    );
  }
  const e2eTop = m.endToEnd?.[m.endToEnd.length - 1];
  if (e2eTop) {
    rows.push({
      figure: `end to end delivered/s at ${e2eTop.rate}/s offered`,
      measured: Math.round(e2eTop.delivered / e2eTop.seconds),
      limit: 'Redis pub/sub deliveries/s',
      limitValue: limits.redisPubSub.messagesPerSecond,
    });
  }
  if (m.history) {
    rows.push({
      figure: 'history pages/s at saturation',
      measured: m.history.saturation.okPerSecond,
      limit: 'PostgreSQL 10-row inserts (rows/s), for scale',
      limitValue: limits.postgresInsert.rowsPerSecond,
    });
  }
  return rows;
}

/**
 * Our CPU per message beside what the raw loops' client (this process, the same SDK and drivers, full batches)
 * spent per message: how far above the floor of the SQS call (API) or the receive, delete and insert (worker).
 */
function cpuFloorRatios(m: Measurements, limits: LimitsResult): RatioInput[] {
  const client = limits.clientCpuMsPerMessage;
  const send = { limit: 'raw SQS send, client CPU ms/message', limitValue: client.sqsSend };
  const store = {
    limit: 'raw SQS send + receive + delete + 10-row insert, client CPU ms/message',
    limitValue: Number((client.sqsReceiveDelete + client.postgresInsert).toFixed(3)),
  };
  const rows: RatioInput[] = [];
  if (m.sendPath) {
    rows.push(
      { figure: 'API CPU ms per accepted message, saturation 1:1', measured: m.sendPath.apiCpuMsPerMessage, ...send },
      {
        figure: `API CPU ms per accepted message, saturation ${m.sendPath.group.members} members`,
        measured: m.sendPath.group.apiCpuMsPerMessage,
        ...send,
      },
    );
  }
  if (m.moderate)
    rows.push({
      figure: 'API CPU ms per accepted message, moderate load',
      measured: m.moderate.apiCpuMsPerMessage,
      ...send,
    });
  if (m.drain)
    rows.push({ figure: 'worker CPU ms per stored message, drain', measured: m.drain.workerCpuMsPerMessage, ...store });
  if (m.moderate)
    rows.push({
      figure: 'worker CPU ms per stored message, moderate load (with pushes)',
      measured: m.moderate.workerCpuMsPerMessage,
      ...store,
    });
  return rows;
}

export function ratiosOf(m: Measurements): RatioRow[] {
  if (!m.limits) return [];
  return [...throughputRatios(m, m.limits), ...cpuFloorRatios(m, m.limits)].map((row) => ({
    ...row,
    ratio: ratio(row.measured, row.limitValue),
  }));
}

const atMost = (value: number, limit: number) => Number.isFinite(value) && value <= limit;

/** The issue's targets, each checked when the phase it needs ran. */

/** " (median of 3: a, b, c)" when the moderate phase measured several windows. */
const ofWindows = (x: ModerateResult, figure: keyof WindowFigures) =>
  x.windows && x.windows.length > 1
    ? ` (median of ${x.windows.length}: ${x.windows.map((window) => window[figure]).join(', ')})`
    : '';

export function targetsOf(m: Measurements): TargetRow[] {
  const rows: TargetRow[] = [];
  if (m.sendPath) {
    const { apiCpuMsPerMessage, saturation } = m.sendPath;
    rows.push({
      target: 'API <= 0.35 ms CPU per accepted message (send path at saturation, 1:1)',
      measured: `${apiCpuMsPerMessage} ms at ${saturation.okPerSecond}/s`,
      met: atMost(apiCpuMsPerMessage, 0.35),
    });
  }
  if (m.history) {
    rows.push({
      target: `API <= 0.6 ms CPU per history page of ${m.history.pageSize}`,
      measured: `${m.history.apiCpuMsPerRead} ms at ${m.history.saturation.okPerSecond} pages/s`,
      met: atMost(m.history.apiCpuMsPerRead, 0.6),
    });
  }
  if (m.drain) {
    rows.push({
      target: 'worker <= 0.25 ms CPU per stored message (drain)',
      measured: `${m.drain.workerCpuMsPerMessage} ms at ${m.drain.messagesPerSecond}/s`,
      met: atMost(m.drain.workerCpuMsPerMessage, 0.25),
    });
  }
  if (m.endToEnd?.length) {
    const at500 = m.endToEnd.find((run) => run.rate === 500) ?? m.endToEnd[0];
    const at1000 = m.endToEnd.find((run) => run.rate === 1000) ?? m.endToEnd[m.endToEnd.length - 1];
    rows.push(
      {
        target: `end-to-end p95 < 250 ms at ${at500.rate} msg/s`,
        measured: `p95 ${at500.latencyMs.p95} ms`,
        met: at500.latencyMs.p95 < 250,
      },
      {
        target: `end to end: every accepted message delivered at ${at1000.rate} msg/s`,
        measured: `${at1000.delivered}/${at1000.accepted} delivered`,
        met: at1000.accepted > 0 && at1000.delivered >= at1000.accepted,
      },
    );
  }
  if (m.moderate) {
    const x = m.moderate;
    rows.push(
      {
        target: `moderate load: API <= 0.6 ms CPU per accepted message (${x.apiProcesses} API processes, LOG_LEVEL=${x.logLevel})`,
        measured: `${x.apiCpuMsPerMessage} ms${ofWindows(x, 'apiCpuMsPerMessage')}, ${x.accepted} accepted of ${x.offeredPerSecond}/s × ${x.seconds} s${x.windows && x.windows.length > 1 ? ` × ${x.windows.length}` : ''}`,
        met: atMost(x.apiCpuMsPerMessage, 0.6),
      },
      {
        target: 'moderate load: worker <= 0.5 ms CPU per stored message (with pushes)',
        measured: `${x.workerCpuMsPerMessage} ms${ofWindows(x, 'workerCpuMsPerMessage')}, ${x.stored} stored, ${x.notifications.delivered} pushes${x.caughtUp ? '' : ', **did not catch up**'}`,
        met: atMost(x.workerCpuMsPerMessage, 0.5) && x.caughtUp,
      },
    );
  }
  if (m.connections) {
    const c = m.connections;
    const projected = (c.rssBeforeMiB * 1024 * 1024 + 10_000 * c.bytesPerConnection) / GiB;
    rows.push({
      target: '10,000 WebSockets per API process < 0.25 GiB RSS',
      measured: `${c.openAfterHold} held, ${c.rssPeakMiB ?? c.rssAfterMiB} MiB at peak (10,000 → ${projected.toFixed(2)} GiB)`,
      met: c.openAfterHold >= Math.min(10_000, c.target) && projected < 0.25,
    });
  }
  return rows;
}

/**
 * The capacity model's inputs (MeasuredFigures, unchanged) plus the per-operation figures the issue asks for,
 * by shape and load, so the model can price each one.
 */
export interface BenchFigures extends MeasuredFigures {
  /** API CPU ms per accepted message, send path at saturation, 1:1 conversation (accept only, no push). */
  sendApiCpuMsPerMessage: number;
  /** The same for a group conversation of `groupMembers` members. */
  groupSendApiCpuMsPerMessage: number;
  groupMembers: number;
  /** Moderate load: both API processes' CPU ms per accepted message, LOG_LEVEL=info. */
  moderateApiCpuMsPerMessage: number;
  /** Moderate load: worker CPU ms per stored message, its pushes included. */
  moderateWorkerCpuMsPerMessage: number;
  /** End to end at the highest rate: API CPU ms per accepted message (accept + push to the socket). */
  e2eApiCpuMsPerMessage: number;
  /** End to end at the highest rate: worker CPU ms per stored message. */
  e2eWorkerCpuMsPerMessage: number;
  /** Worker drain: worker CPU ms per stored message (saturation). */
  drainWorkerCpuMsPerMessage: number;
}

const BENCH_FIGURE_NAMES: Array<keyof BenchFigures> = [
  ...MEASURED_FIGURE_NAMES,
  'sendApiCpuMsPerMessage',
  'groupSendApiCpuMsPerMessage',
  'groupMembers',
  'moderateApiCpuMsPerMessage',
  'moderateWorkerCpuMsPerMessage',
  'e2eApiCpuMsPerMessage',
  'e2eWorkerCpuMsPerMessage',
  'drainWorkerCpuMsPerMessage',
];

const present = (figures: object, names: readonly string[]) =>
  names.every((name) => typeof (figures as Record<string, unknown>)[name] === 'number');

/** True when every figure is there (every phase ran). */
export function completeFigures(figures: Partial<BenchFigures>): figures is BenchFigures {
  return present(figures, BENCH_FIGURE_NAMES);
}

/** True when the capacity model's inputs are there (also in reports written before the per-operation figures). */
export function capacityInputs(figures: Partial<BenchFigures>): figures is MeasuredFigures {
  return present(figures, MEASURED_FIGURE_NAMES);
}

/**
 * The capacity model on a report's figures (undefined when a phase it needs did not run), with the moderate-load
 * and 10-member figures mapped as `npm run capacity -- --from <report>` maps them.
 */
export function reportCapacity(
  r: Pick<BenchReport, 'figures' | 'measurements'>,
  assumptions: DemandAssumptions,
): TierCapacity[] | undefined {
  return capacityInputs(r.figures) ? capacityModel(capacityFiguresOf(r), assumptions) : undefined;
}

/** Per-process CPU costs the capacity model scales, from whichever phases ran. */
export function figuresOf(m: Measurements): Partial<BenchFigures> {
  const figures: Partial<BenchFigures> = {};
  const top = m.endToEnd?.[m.endToEnd.length - 1];
  const perMessage = (cores: number | undefined) =>
    ((cores ?? 0) * 1000) / Math.max(1, top ? top.delivered / top.seconds : 1);
  if (m.sendPath) {
    figures.sendApiCpuMsPerMessage = m.sendPath.apiCpuMsPerMessage;
    figures.groupSendApiCpuMsPerMessage = m.sendPath.group.apiCpuMsPerMessage;
    figures.groupMembers = m.sendPath.group.members;
  }
  if (top) {
    figures.e2eApiCpuMsPerMessage = top.apiCpuMsPerMessage;
    figures.e2eWorkerCpuMsPerMessage = top.workerCpuMsPerMessage;
  }
  // The worse of end to end (accept + push) and the send path at saturation; of end to end and the drain.
  if (m.sendPath && top)
    figures.apiCpuMsPerMessage = Number(
      Math.max(perMessage(top.cpuCoresBusy.api), m.sendPath.apiCpuMsPerMessage).toFixed(3),
    );
  if (m.drain) figures.drainWorkerCpuMsPerMessage = m.drain.workerCpuMsPerMessage;
  if (m.drain && top)
    figures.workerCpuMsPerMessage = Number(
      Math.max(perMessage(top.cpuCoresBusy.worker), m.drain.workerCpuMsPerMessage).toFixed(3),
    );
  if (m.moderate) {
    figures.moderateApiCpuMsPerMessage = m.moderate.apiCpuMsPerMessage;
    figures.moderateWorkerCpuMsPerMessage = m.moderate.workerCpuMsPerMessage;
  }
  if (m.history) figures.apiCpuMsPerRead = m.history.apiCpuMsPerRead;
  if (m.connections) {
    const c = m.connections;
    figures.connectionsHeld = c.openAfterHold;
    figures.bytesPerConnection = c.bytesPerConnection;
    figures.apiCoresPer1000Connections = Number(
      ((c.apiCoresWhileHolding * 1000) / Math.max(1, c.openAfterHold)).toFixed(4),
    );
    figures.apiBaseRssMiB = c.rssBeforeMiB;
  }
  return figures;
}
