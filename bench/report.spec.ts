import { figuresOf, Measurements, ratiosOf, targetsOf } from './report';
import { renderMarkdown } from './render';
import { capacityModel, DEFAULT_DEMAND } from './capacity';

const latency = (p95: number) => ({ count: 100, mean: p95 / 2, p50: p95 / 2, p95, p99: p95 * 1.2, max: p95 * 2 });
const load = (okPerSecond: number, p95: number) => ({
  seconds: 20,
  okPerSecond,
  ok: okPerSecond * 20,
  failed: 0,
  statuses: { 200: okPerSecond * 20 },
  latencyMs: latency(p95),
});

const SAMPLE: Measurements = {
  limits: {
    sqsSend: { messagesPerSecond: 4000, parallel: 16, seconds: 10 },
    sqsReceiveDelete: { messagesPerSecond: 2000, loops: 8, messages: 10_000 },
    postgresInsert: { rowsPerSecond: 8000, commitsPerSecond: 800, rowsPerStatement: 10, parallel: 8 },
    redisPubSub: { messagesPerSecond: 50_000, channels: 100, seconds: 5 },
    cpuCoresBusy: {},
  },
  sendPath: {
    fixed: { ...load(500, 10), offered: 500 },
    saturation: { ...load(3400, 40), connections: 64 },
    cpuCoresBusy: { api: 0.85 },
    apiCpuMsPerMessage: 0.25,
    queued: 80_000,
    accepted: 78_000,
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

describe('bench report', () => {
  it('puts each figure beside the limit it sits on', () => {
    const ratios = ratiosOf(SAMPLE);
    expect(ratios[0]).toMatchObject({ measured: 3400, limitValue: 4000, ratio: 0.85 });
    expect(ratios[1]).toMatchObject({ measured: 1500, limitValue: 2000, ratio: 0.75 });
    expect(ratios[3]).toMatchObject({ measured: 1000, limitValue: 50_000, ratio: 0.02 });
  });

  it('checks the four targets of the issue', () => {
    const targets = targetsOf(SAMPLE);
    expect(targets.map((target) => target.met)).toEqual([true, true, false, true]);
    expect(targets[0].target).toContain('1000 msg/s');
    expect(targets[3].measured).toContain('10,000 → 0.48 GiB');
    const slow = { ...SAMPLE, endToEnd: SAMPLE.endToEnd.map((run) => ({ ...run, latencyMs: latency(150) })) };
    expect(targetsOf(slow)[0].met).toBe(false);
    const lost = { ...SAMPLE, endToEnd: SAMPLE.endToEnd.map((run) => ({ ...run, delivered: run.accepted - 1 })) };
    expect(targetsOf(lost)[0].met).toBe(false);
  });

  it('derives per-process CPU costs from the highest end-to-end rate and the drain, taking the worse', () => {
    const figures = figuresOf(SAMPLE);
    // e2e at 1,000/s: api 0.5 cores -> 0.5 ms (above send path's 0.25); worker 1 core -> 1 ms (above drain's 0.667)
    expect(figures.apiCpuMsPerMessage).toBe(0.5);
    expect(figures.workerCpuMsPerMessage).toBe(1);
    expect(figures.apiCoresPer1000Connections).toBe(0.005);
  });

  it('renders every section in Markdown', () => {
    const figures = figuresOf(SAMPLE);
    const markdown = renderMarkdown({
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
      measurements: SAMPLE,
      ratios: ratiosOf(SAMPLE),
      targets: targetsOf(SAMPLE),
      figures,
      assumptions: DEFAULT_DEMAND,
      capacity: capacityModel(figures),
    });
    for (const heading of [
      '## Targets',
      '## Limits and ratios',
      '## Send path',
      '## End to end',
      '## Connections',
      '## Worker drain',
      '## History',
      '## Capacity model',
      '## Method',
    ]) {
      expect(markdown).toContain(heading);
    }
  });
});
