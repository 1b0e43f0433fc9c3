import { median, percentile, perSecond, ratio, summarize } from './stats';

describe('bench statistics', () => {
  it('takes the median of an odd or even count, NaN of none', () => {
    expect(median([0.9, 0.6, 0.7])).toBe(0.7);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('takes nearest-rank percentiles of sorted samples', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes unsorted latencies to 0.1 ms', () => {
    expect(summarize([3, 1, 2, 10])).toEqual({ count: 4, mean: 4, p50: 2, p95: 10, p99: 10, max: 10 });
    expect(summarize([1.234, 1.236])).toMatchObject({ p50: 1.2, max: 1.2 });
    expect(summarize([]).count).toBe(0);
  });

  it('computes rates and ratios, refusing a zero limit', () => {
    expect(perSecond(1000, 4)).toBe(250);
    expect(perSecond(5, 0)).toBe(0);
    expect(ratio(800, 1000)).toBe(0.8);
    expect(ratio(1, 3)).toBe(0.33);
    expect(ratio(5, 0)).toBeNaN();
  });
});
