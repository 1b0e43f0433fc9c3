import type { DemandAssumptions, MeasuredFigures, TierCapacity } from './capacity';
import { ratio } from './lib/stats';
import type { ConnectionsResult } from './phases/connections';
import type { DrainResult } from './phases/drain';
import type { EndToEndRun } from './phases/end-to-end';
import type { HistoryResult } from './phases/history';
import type { LimitsResult } from './phases/limits';
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

export interface Measurements {
  limits: LimitsResult;
  sendPath: SendPathResult;
  endToEnd: EndToEndRun[];
  connections: ConnectionsResult;
  drain: DrainResult;
  history: HistoryResult;
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
  ratios: RatioRow[];
  targets: TargetRow[];
  figures: MeasuredFigures;
  assumptions: DemandAssumptions;
  capacity: TierCapacity[];
}

export const REPORT_SECTIONS = ['limits', 'sendPath', 'endToEnd', 'connections', 'drain', 'history'] as const;

export function ratiosOf(m: Measurements): RatioRow[] {
  const e2eTop = m.endToEnd[m.endToEnd.length - 1];
  return [
    {
      figure: 'send path at saturation (accepted/s)',
      measured: m.sendPath.saturation.okPerSecond,
      limit: 'SQS raw send (batches of 10)',
      limitValue: m.limits.sqsSend.messagesPerSecond,
    },
    {
      figure: 'worker drain (stored/s)',
      measured: m.drain.messagesPerSecond,
      limit: 'SQS raw receive + delete',
      limitValue: m.limits.sqsReceiveDelete.messagesPerSecond,
    },
    {
      figure: 'worker drain (stored/s)',
      measured: m.drain.messagesPerSecond,
      limit: 'PostgreSQL 10-row inserts (rows/s)',
      limitValue: m.limits.postgresInsert.rowsPerSecond,
    },
    {
      figure: `end to end delivered/s at ${e2eTop?.rate}/s offered`,
      measured: e2eTop ? Math.round(e2eTop.delivered / e2eTop.seconds) : NaN,
      limit: 'Redis pub/sub deliveries/s',
      limitValue: m.limits.redisPubSub.messagesPerSecond,
    },
    {
      figure: 'history pages/s at saturation',
      measured: m.history.saturation.okPerSecond,
      limit: 'PostgreSQL 10-row inserts (rows/s), for scale',
      limitValue: m.limits.postgresInsert.rowsPerSecond,
    },
  ].map((row) => ({ ...row, ratio: ratio(row.measured, row.limitValue) }));
}

const GiB = 1024 * 1024 * 1024;

export function targetsOf(m: Measurements): TargetRow[] {
  const at1000 = m.endToEnd.find((run) => run.rate === 1000) ?? m.endToEnd[m.endToEnd.length - 1];
  const send = ratio(m.sendPath.saturation.okPerSecond, m.limits.sqsSend.messagesPerSecond);
  const drain = ratio(m.drain.messagesPerSecond, m.limits.sqsReceiveDelete.messagesPerSecond);
  const projected = (m.connections.rssBeforeMiB * 1024 * 1024 + 10_000 * m.connections.bytesPerConnection) / GiB;
  return [
    {
      target: `end-to-end p95 < 100 ms at ${at1000?.rate ?? '?'} msg/s`,
      measured: `p95 ${at1000?.latencyMs.p95} ms, ${at1000?.delivered}/${at1000?.accepted} delivered`,
      met: !!at1000 && at1000.latencyMs.p95 < 100 && at1000.delivered >= at1000.accepted,
    },
    {
      target: 'send path >= 80 % of the SQS server raw send rate',
      measured: `${m.sendPath.saturation.okPerSecond}/s = ${Math.round(send * 100)} % of ${m.limits.sqsSend.messagesPerSecond}/s`,
      met: send >= 0.8,
    },
    {
      target: 'worker drain >= 80 % of raw receive + delete',
      measured: `${m.drain.messagesPerSecond}/s = ${Math.round(drain * 100)} % of ${m.limits.sqsReceiveDelete.messagesPerSecond}/s`,
      met: drain >= 0.8,
    },
    {
      target: '10,000 connections per API process under 1 GiB',
      measured: `${m.connections.openAfterHold} held, ${m.connections.rssAfterMiB} MiB (10,000 → ${projected.toFixed(2)} GiB)`,
      met: m.connections.openAfterHold >= Math.min(10_000, m.connections.target) && projected < 1,
    },
  ];
}

/** Per-process CPU costs the capacity model scales, from the measurements. */
export function figuresOf(m: Measurements): MeasuredFigures {
  const top = m.endToEnd[m.endToEnd.length - 1];
  const perMessage = (cores: number | undefined) =>
    ((cores ?? 0) * 1000) / Math.max(1, top ? top.delivered / top.seconds : 1);
  return {
    apiCpuMsPerMessage: Number(Math.max(perMessage(top?.cpuCoresBusy.api), m.sendPath.apiCpuMsPerMessage).toFixed(3)),
    apiCpuMsPerRead: m.history.apiCpuMsPerRead,
    workerCpuMsPerMessage: Number(
      Math.max(perMessage(top?.cpuCoresBusy.worker), m.drain.workerCpuMsPerMessage).toFixed(3),
    ),
    connectionsHeld: m.connections.openAfterHold,
    bytesPerConnection: m.connections.bytesPerConnection,
    apiCoresPer1000Connections: Number(
      ((m.connections.apiCoresWhileHolding * 1000) / Math.max(1, m.connections.openAfterHold)).toFixed(4),
    ),
    apiBaseRssMiB: m.connections.rssBeforeMiB,
  };
}
