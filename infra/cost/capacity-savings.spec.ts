import { BASELINE_FIGURES, CURRENT_FIGURES, readFigures } from '../../bench/capacity-figures';
import type { FleetNeed } from '../../bench/capacity';
import { capacitySavings, instanceMonthly } from './capacity-savings';
import { HOURS_PER_MONTH, INSTANCE_SPECS, PRICES } from './prices-us-east-1';
import { renderSavings } from './render';

const fleet = (instanceType: string, needed: number, coresNeeded: number): FleetNeed => ({
  instanceType,
  processesPerInstance: 2,
  coresPerInstance: 1.33,
  coresNeeded,
  cpuMsPerMessage: 0.4,
  needed,
  configured: { min: 1, desired: 1, max: 2 },
});

describe('what the performance work saves', () => {
  it('prices an instance-month at its peak load: hourly, T3 surplus above baseline, root volume', () => {
    // c5: no credits. 2 instances busy 1.2 cores each.
    expect(instanceMonthly(fleet('c5.large', 2, 2.4), 30)).toBeCloseTo(
      INSTANCE_SPECS['c5.large'].hourly * HOURS_PER_MONTH + 30 * PRICES.ebs.gp3PerGbMonth,
    );
    // t3.medium: baseline 20 % of 2 vCPUs = 0.4; busy 1.2 -> 0.8 vCPU-hours of surplus each hour.
    expect(instanceMonthly(fleet('t3.medium', 2, 2.4), 30)).toBeCloseTo(
      (INSTANCE_SPECS['t3.medium'].hourly + 0.8 * PRICES.ec2.t3SurplusPerVcpuHour) * HOURS_PER_MONTH +
        30 * PRICES.ebs.gp3PerGbMonth,
    );
  });

  it('compares the recorded baseline at one process per instance with the current figures at one per vCPU', () => {
    const savings = capacitySavings(readFigures(BASELINE_FIGURES).figures, readFigures(CURRENT_FIGURES).figures);
    expect(savings.map((row) => row.tier)).toEqual(['small', 'medium', 'large']);
    for (const row of savings) {
      expect(row.before.api.processesPerInstance).toBe(1);
      expect(row.after.api.processesPerInstance).toBe(2);
      expect(row.saved).toBeCloseTo(row.before.monthly - row.after.monthly);
      expect(row.after.api.instances).toBeLessThanOrEqual(row.before.api.instances);
    }
    const markdown = renderSavings(savings, { before: 'old run', after: 'new run' });
    expect(markdown).toContain('Before: old run; one Node process per instance. After: new run; one process per vCPU.');
    expect(markdown).toMatch(
      /\| large \(100,000\) \| \d+ × c5\.large \(1 process each\) → \d+ × c5\.large \(2 processes each\)/,
    );
  });
});
