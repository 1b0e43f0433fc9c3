import { createLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { DependencyGate, probeDelayMs } from './dependency-gate';

describe('DependencyGate', () => {
  afterEach(() => jest.useRealTimers());

  it('probes after 1 s, 2 s, 4 s ... up to the cap', () => {
    expect([0, 1, 2, 3, 4, 10].map((attempt) => probeDelayMs(attempt, 5_000))).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000, 5_000,
    ]);
  });

  it('stays paused while the probe fails, reopens when it answers, and shows it in the metrics', async () => {
    jest.useFakeTimers();
    const metrics = new WorkerMetrics({ defaultMetrics: false });
    let answers = false;
    let probes = 0;
    const gate = new DependencyGate({
      dependency: 'primary',
      probe: async () => {
        probes++;
        if (!answers) throw new Error('ECONNREFUSED');
      },
      maxProbeIntervalMs: 2_000,
      logger: createLogger('silent'),
      metrics,
    });
    await expect(gate.wait()).resolves.toBeUndefined();
    gate.pause(new Error('down'));
    gate.pause(new Error('down again')); // other loops failing the same way join the same pause
    expect(gate.paused).toBe(true);
    let reopened = false;
    void gate.wait().then(() => (reopened = true));
    await jest.advanceTimersByTimeAsync(1_000 + 2_000 + 2_000);
    expect(probes).toBe(3);
    expect(reopened).toBe(false);
    const paused = await metrics.consumersPaused.get();
    expect(paused.values).toEqual([expect.objectContaining({ labels: { dependency: 'primary' }, value: 1 })]);

    answers = true;
    await jest.advanceTimersByTimeAsync(2_000);
    expect(reopened).toBe(true);
    expect(gate.paused).toBe(false);
    expect((await metrics.consumersPaused.get()).values[0].value).toBe(0);
    expect((await metrics.pauses.get()).values[0].value).toBe(1);
  });

  it('close() lets waiters go and stops probing', async () => {
    jest.useFakeTimers();
    const probe = jest.fn().mockRejectedValue(new Error('down'));
    const gate = new DependencyGate({
      dependency: 'primary',
      probe,
      maxProbeIntervalMs: 1_000,
      logger: createLogger('silent'),
      metrics: new WorkerMetrics({ defaultMetrics: false }),
    });
    gate.pause(new Error('down'));
    const waiting = gate.wait();
    gate.close();
    await expect(waiting).resolves.toBeUndefined();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(probe).not.toHaveBeenCalled();
    gate.pause(new Error('after close'));
    expect(gate.paused).toBe(false);
  });
});
