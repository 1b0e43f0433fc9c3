import {
  capacityInputs,
  completeFigures,
  figuresOf,
  Measurements,
  ratiosOf,
  REPORT_SECTIONS,
  reportCapacity,
  targetsOf,
} from './report';
import { renderCapacity, renderMarkdown } from './render';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capacityModel, DEFAULT_DEMAND, MeasuredFigures } from './capacity';
import { capacityFiguresOf, readFigures } from './capacity-figures';

const latency = (p95: number) => ({ count: 100, mean: p95 / 2, p50: p95 / 2, p95, p99: p95 * 1.2, max: p95 * 2 });
const load = (okPerSecond: number, p95: number) => ({
  seconds: 20,
  okPerSecond,
  ok: okPerSecond * 20,
  failed: 0,
  statuses: { 200: okPerSecond * 20 },
  latencyMs: latency(p95),
});

type Complete = { [K in keyof Measurements]-?: NonNullable<Measurements[K]> };

const SAMPLE: Complete = {
  limits: {
    sqsSend: { messagesPerSecond: 4000, parallel: 16, seconds: 10, messages: 40_000 },
    sqsReceiveDelete: { messagesPerSecond: 2000, loops: 8, messages: 10_000 },
    postgresInsert: { rowsPerSecond: 8000, commitsPerSecond: 800, rowsPerStatement: 10, parallel: 8 },
    redisPubSub: { messagesPerSecond: 50_000, channels: 100, seconds: 5 },
    cpuCoresBusy: {},
    clientCpuMsPerMessage: { sqsSend: 0.1, sqsReceiveDelete: 0.15, postgresInsert: 0.05 },
  },
  sendPath: {
    fixed: { ...load(500, 10), offered: 500 },
    saturation: { ...load(3400, 40), connections: 64 },
    cpuCoresBusy: { api: 0.85 },
    apiCpuMsPerMessage: 0.25,
    group: {
      members: 10,
      conversations: 20,
      saturation: { ...load(2000, 60), connections: 64 },
      cpuCoresBusy: { api: 0.9 },
      apiCpuMsPerMessage: 0.45,
    },
    queued: 80_000,
    accepted: 78_000,
  },
  moderate: {
    apiProcesses: 2,
    logLevel: 'info',
    conversations: 20,
    senders: 32,
    offeredPerSecond: 320,
    seconds: 20,
    accepted: 6400,
    failed: 0,
    stored: 6400,
    notifications: { delivered: 6400, unsigned: 0, badSignature: 0 },
    caughtUp: true,
    catchUpSeconds: 0.4,
    acceptLatencyMs: latency(12),
    cpuCoresBusy: { api: 0.16, worker: 0.13 },
    apiCpuMsPerMessage: 0.5,
    workerCpuMsPerMessage: 0.4,
  },
  endToEnd: [500, 1000].map((rate) => ({
    rate,
    seconds: 20,
    accepted: rate * 20,
    delivered: rate * 20,
    latencyMs: latency(rate === 1000 ? 80 : 40),
    acceptLatencyMs: latency(10),
    queueAndStoreMs: latency(30),
    fanOutMs: latency(5),
    cpuCoresBusy: { api: rate / 2000, worker: rate / 1000 },
    stored: rate * 20,
    apiCpuMsPerMessage: 0.5,
    workerCpuMsPerMessage: 1,
  })),
  connections: {
    target: 10_000,
    users: 200,
    perUser: 50,
    opened: 10_000,
    failed: 0,
    openSeconds: 12,
    heldSeconds: 45,
    openAfterHold: 10_000,
    serverCount: 10_000,
    rssBeforeMiB: 100,
    rssAfterMiB: 500,
    bytesPerConnection: 40 * 1024,
    apiCoresWhileHolding: 0.05,
  },
  drain: {
    messages: 10_000,
    seconds: 5,
    messagesPerSecond: 1500,
    loops: 8,
    meanBatchMs: 20,
    cpuCoresBusy: { worker: 1 },
    workerCpuMsPerMessage: 0.667,
  },
  history: {
    conversations: 20,
    messagesPerConversation: 500,
    pageSize: 50,
    fixed: { ...load(500, 12), offered: 500 },
    saturation: { ...load(900, 60), connections: 32 },
    cpuCoresBusy: { api: 0.9 },
    transactionsPerSecond: { replica: 900, primary: 3 },
    apiCpuMsPerRead: 1,
  },
};

const report = (measurements: Measurements, phases = [...REPORT_SECTIONS]) => {
  const figures = figuresOf(measurements);
  return {
    startedAt: 'start',
    finishedAt: 'end',
    mode: 'full',
    seconds: 400,
    machine: {
      cpus: 2,
      cpuModel: 'cpu',
      memoryGiB: 24,
      node: '20',
      commit: 'abc',
      loadBefore: [0.5, 0.5, 0.5],
      loadAfter: [1, 1, 1],
    },
    phases,
    measurements,
    ratios: ratiosOf(measurements),
    targets: targetsOf(measurements),
    figures,
    assumptions: DEFAULT_DEMAND,
    capacity: completeFigures(figures) ? reportCapacity({ figures, measurements }, DEFAULT_DEMAND) : undefined,
  };
};

const HEADINGS = [
  '## Targets',
  '## Limits and ratios',
  '## Send path',
  '## Moderate load',
  '## End to end',
  '## Connections',
  '## Worker drain',
  '## History',
  '## Capacity model',
  '## Method',
];

describe('bench report', () => {
  it('puts each throughput beside the limit it sits on, the group send path included', () => {
    const ratios = ratiosOf(SAMPLE);
    expect(ratios[0]).toMatchObject({ measured: 3400, limitValue: 4000, ratio: 0.85 });
    expect(ratios[1]).toMatchObject({ figure: expect.stringContaining('10 members'), measured: 2000, ratio: 0.5 });
    expect(ratios[2]).toMatchObject({ measured: 1500, limitValue: 2000, ratio: 0.75 });
    expect(ratios[4]).toMatchObject({ measured: 1000, limitValue: 50_000, ratio: 0.02 });
  });

  it('puts CPU per message beside the client CPU per message of the raw loops', () => {
    const ratios = ratiosOf(SAMPLE);
    // raw send 0.1 ms; the worker's floor: send + receive + delete 0.15 ms plus insert 0.05 ms
    const row = (start: string) => ratios.find((r) => r.figure.startsWith(start));
    expect(row('API CPU ms per accepted message, saturation 1:1')).toMatchObject({ limitValue: 0.1, ratio: 2.5 });
    expect(row('API CPU ms per accepted message, moderate')).toMatchObject({ measured: 0.5, ratio: 5 });
    expect(row('worker CPU ms per stored message, drain')).toMatchObject({ limitValue: 0.2, ratio: 3.33 });
    expect(row('worker CPU ms per stored message, moderate')).toMatchObject({ measured: 0.4, ratio: 2 });
  });

  it('has no ratios without the limits phase', () => {
    expect(ratiosOf({ moderate: SAMPLE.moderate })).toEqual([]);
  });

  it('checks the targets of the issue', () => {
    const targets = targetsOf(SAMPLE);
    expect(targets.map((target) => [target.target.split(' ').slice(0, 4).join(' '), target.met])).toEqual([
      ['API <= 0.35 ms', true],
      ['API <= 0.6 ms', false], // 1 ms per page
      ['worker <= 0.25 ms', false], // drain 0.667
      ['end-to-end p95 < 250', true],
      ['end to end: every', true],
      ['moderate load: API <=', true],
      ['moderate load: worker <=', true],
      ['10,000 WebSockets per API', false], // 100 MiB + 10,000 × 40 KiB = 0.49 GiB
    ]);
    expect(targets[3].target).toContain('500 msg/s');
    expect(targets[4].target).toContain('1000 msg/s');
    expect(targets[7].measured).toContain('10,000 → 0.48 GiB');
  });

  it('fails the end-to-end targets on a slow or lossy run', () => {
    const slow = { ...SAMPLE, endToEnd: SAMPLE.endToEnd.map((run) => ({ ...run, latencyMs: latency(300) })) };
    expect(targetsOf(slow)[3].met).toBe(false);
    const lost = { ...SAMPLE, endToEnd: SAMPLE.endToEnd.map((run) => ({ ...run, delivered: run.accepted - 1 })) };
    expect(targetsOf(lost)[4].met).toBe(false);
  });

  it('fails the moderate worker target when the worker did not catch up', () => {
    const behind = { moderate: { ...SAMPLE.moderate, caughtUp: false } };
    expect(targetsOf(behind).map((target) => target.met)).toEqual([true, false]);
  });

  it('judges the moderate targets on the medians of the windows, and shows each window', () => {
    const windows = [
      { apiCpuMsPerMessage: 0.7, workerCpuMsPerMessage: 0.45 },
      { apiCpuMsPerMessage: 0.55, workerCpuMsPerMessage: 0.6 },
      { apiCpuMsPerMessage: 0.58, workerCpuMsPerMessage: 0.48 },
    ];
    const moderate = { ...SAMPLE.moderate, apiCpuMsPerMessage: 0.58, workerCpuMsPerMessage: 0.48, windows };
    const [api, worker] = targetsOf({ moderate });
    expect(api).toMatchObject({
      met: true,
      measured: expect.stringContaining('0.58 ms (median of 3: 0.7, 0.55, 0.58)'),
    });
    expect(api.measured).toContain('× 20 s × 3');
    expect(worker).toMatchObject({ met: true, measured: expect.stringContaining('(median of 3: 0.45, 0.6, 0.48)') });
    expect(renderMarkdown(report({ moderate }, ['moderate']))).toContain('the medians of 3 windows of 20 s');
  });

  it('checks only the targets of the phases that ran', () => {
    expect(targetsOf({ moderate: SAMPLE.moderate }).map((target) => target.target)).toEqual([
      expect.stringContaining('moderate load: API'),
      expect.stringContaining('moderate load: worker'),
    ]);
  });

  it('derives per-process CPU costs from the highest end-to-end rate and the drain, taking the worse', () => {
    const figures = figuresOf(SAMPLE);
    // e2e at 1,000/s: api 0.5 cores -> 0.5 ms (above send path's 0.25); worker 1 core -> 1 ms (above drain's 0.667)
    expect(figures.apiCpuMsPerMessage).toBe(0.5);
    expect(figures.workerCpuMsPerMessage).toBe(1);
    expect(figures.apiCoresPer1000Connections).toBe(0.005);
  });

  it('carries the per-operation figures by shape and load', () => {
    expect(figuresOf(SAMPLE)).toMatchObject({
      sendApiCpuMsPerMessage: 0.25,
      groupSendApiCpuMsPerMessage: 0.45,
      groupMembers: 10,
      moderateApiCpuMsPerMessage: 0.5,
      moderateWorkerCpuMsPerMessage: 0.4,
      e2eApiCpuMsPerMessage: 0.5,
      e2eWorkerCpuMsPerMessage: 1,
      drainWorkerCpuMsPerMessage: 0.667,
    });
    expect(completeFigures(figuresOf(SAMPLE))).toBe(true);
    const partial = figuresOf({ moderate: SAMPLE.moderate });
    expect(partial).toEqual({ moderateApiCpuMsPerMessage: 0.5, moderateWorkerCpuMsPerMessage: 0.4 });
    expect(completeFigures(partial)).toBe(false);
    expect(capacityInputs(partial)).toBe(false);
  });

  it('sizes the tiers from the same figures as `npm run capacity -- --from <report>`, moderate and group included', () => {
    const full = report(SAMPLE);
    const file = join(mkdtempSync(join(tmpdir(), 'cyphr-report-')), 'latest.json');
    writeFileSync(file, JSON.stringify(full));
    const fromFile = readFigures(file).figures;
    expect(fromFile.moderate).toBeDefined();
    expect(fromFile.groupMessage).toBeDefined();
    expect(capacityFiguresOf(full)).toEqual(fromFile);
    expect(full.capacity).toEqual(capacityModel(fromFile));
    const markdown = renderMarkdown(full);
    expect(markdown).toContain(`costed at its ${fromFile.moderate!.apiCpuMsPerMessage} / `);
    expect(markdown).toContain(`(API ${fromFile.groupMessage!.apiCpuMsPerMessage} ms each)`);
    expect(markdown).toContain('one Node process per vCPU');
  });

  it('feeds the capacity model from reports written before the per-operation figures', () => {
    const older: MeasuredFigures = {
      apiCpuMsPerMessage: 0.5,
      apiCpuMsPerRead: 1,
      workerCpuMsPerMessage: 1,
      connectionsHeld: 10_000,
      bytesPerConnection: 7 * 1024,
      apiCoresPer1000Connections: 0.002,
      apiBaseRssMiB: 150,
    };
    expect(completeFigures(older)).toBe(false);
    expect(capacityInputs(older)).toBe(true);
    const text = renderCapacity({ assumptions: DEFAULT_DEMAND, figures: older }, older, capacityModel(older));
    expect(text).toContain('| small |');
    expect(text).not.toContain('Measured per operation');
    expect(text).not.toContain('undefined');
  });

  it('renders every section in Markdown', () => {
    const markdown = renderMarkdown(report(SAMPLE));
    for (const heading of HEADINGS) expect(markdown).toContain(heading);
    expect(markdown).not.toContain('--only');
  });

  it('renders only the sections of the phases that ran, and no capacity model', () => {
    const markdown = renderMarkdown(report({ moderate: SAMPLE.moderate }, ['moderate']));
    expect(HEADINGS.filter((heading) => markdown.includes(heading))).toEqual([
      '## Targets',
      '## Moderate load',
      '## Method',
    ]);
    expect(markdown).toContain('Phases run: moderate (`--only`)');
  });
});
