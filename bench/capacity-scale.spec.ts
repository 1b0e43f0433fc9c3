import type { TierSpec } from '../infra/config/tiers';
import { DEFAULT_DEMAND } from './capacity';
import { DEFAULT_SCALE, largestTier, PerCoreFigures, scaleLimits } from './capacity-scale';

const perCore: PerCoreFigures = {
  measuredAt: '2026-11-30T00:00:00Z',
  machine: 'test',
  postgresRowsPerCoreSecond: 10_000,
  redisDeliveriesPerCoreSecond: 1_000_000,
  replicaPagesPerCoreSecond: 1_000,
};

const large: TierSpec = {
  users: 100_000,
  api: { instanceType: 'c5.large', min: 10, max: 80, desired: 20 },
  worker: { instanceType: 'c5.large', min: 2, max: 48, desired: 4, scaleOutBacklog: 5_000 },
  database: { instanceClass: 'db.r5.2xlarge', replicas: 4, allocatedStorageGb: 500, maxAllocatedStorageGb: 2_000 },
  cache: { nodeType: 'cache.m5.large', shards: 3, replicasPerShard: 1 },
  rootVolumeGb: 30,
};

describe('past the large tier', () => {
  const report = scaleLimits(perCore, DEFAULT_DEMAND, DEFAULT_SCALE, large);
  const users = (name: string) => report.components.find((c) => c.component.startsWith(name))?.users;

  it("the primary's writes: rows per core x the class's vCPUs x 70 %, one row per message at 0.5 msg/s per user", () => {
    // 10,000 x 8 x 0.7 = 56,000 rows/s = 56,000 msg/s -> 112,000 users
    expect(users('PostgreSQL primary')).toBe(112_000);
  });

  it('Redis: operations per core x shards x 70 % over the operations per message', () => {
    // 1,000,000 x 3 x 0.7 / 6 = 350,000 msg/s -> 700,000 users
    expect(users('Redis')).toBe(700_000);
  });

  it("SQS: the region's FIFO calls per second per action x messages per call", () => {
    // 19,000 x 5 = 95,000 msg/s -> 190,000 users
    expect(users('SQS')).toBe(190_000);
  });

  it('replicas: pages per core x vCPUs x replicas x 70 % over the pages per user', () => {
    // 1,000 x 8 x 4 x 0.7 = 22,400 pages/s / 0.05 = 448,000 users
    expect(users('PostgreSQL replicas')).toBe(448_000);
  });

  it('names the first to saturate and sorts the rest by user count', () => {
    expect(report.first.component).toMatch(/^PostgreSQL primary/);
    const counts = report.components.map((c) => c.users);
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
    expect(report.first.next).toMatch(/Aurora PostgreSQL/);
    expect(report.first.next).toMatch(/partitioning messages by conversation/);
  });

  it('a faster primary moves the first limit to SQS', () => {
    const faster = scaleLimits({ ...perCore, postgresRowsPerCoreSecond: 40_000 }, DEFAULT_DEMAND, DEFAULT_SCALE, large);
    expect(faster.first.component).toMatch(/^SQS/);
  });

  it('starts from the tier with the most users and refuses an RDS class it has no vCPUs for', () => {
    expect(largestTier().users).toBe(100_000);
    expect(() =>
      scaleLimits(perCore, DEFAULT_DEMAND, DEFAULT_SCALE, {
        ...large,
        database: { ...large.database, instanceClass: 'db.x9.huge' },
      }),
    ).toThrow(/db\.x9\.huge/);
  });
});
