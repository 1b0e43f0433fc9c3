import type { TierSpec } from '../infra/config/tiers';
import { capacityModel, DEFAULT_DEMAND, MeasuredFigures, parseAssumptions, tierCapacity } from './capacity';

const measured: MeasuredFigures = {
  apiCpuMsPerMessage: 0.5,
  apiCpuMsPerRead: 1,
  workerCpuMsPerMessage: 0.7,
  connectionsHeld: 10_000,
  bytesPerConnection: 50 * 1024,
  apiCoresPer1000Connections: 0.01,
  apiBaseRssMiB: 100,
};

const tier: TierSpec = {
  users: 10_000,
  api: { instanceType: 't3.medium', min: 2, max: 10, desired: 3 },
  worker: { instanceType: 't3.medium', min: 1, max: 4, desired: 2, scaleOutBacklog: 1000 },
  database: { instanceClass: 'db.r5.large', replicas: 2, allocatedStorageGb: 100, maxAllocatedStorageGb: 500 },
  cache: { nodeType: 'cache.m5.large', shards: 1, replicasPerShard: 1 },
  rootVolumeGb: 30,
};

describe('capacity model', () => {
  it('sizes the API by CPU: messages x ms + reads x ms + idle connections, at 70 % of one core per process', () => {
    const result = tierCapacity('medium', tier, measured);
    // 5,000 msg/s x 0.5 ms = 2.5 cores; 500 reads/s x 1 ms = 0.5; 10 x 0.01 = 0.1 -> 3.1 / 0.7 = 4.43 -> 5
    expect(result.messagesPerSecond).toBe(5_000);
    expect(result.api.byCpu).toBe(5);
    expect(result.api.needed).toBe(5);
  });

  it('sizes the API by connections within 60 % of instance memory, never above what the bench held', () => {
    // t3.medium: 4 GiB x 0.6 = 2457.6 MiB - 100 base = 2357.6 MiB / 50 KiB = 48,283 > 10,000 held -> 10,000 per process
    expect(tierCapacity('medium', tier, measured).api.byConnections).toBe(1);
    const heavy = tierCapacity('medium', tier, { ...measured, bytesPerConnection: 1024 * 1024 });
    // 2357.6 MiB / 1 MiB = 2357 per process -> 10,000 / 2357 = 5
    expect(heavy.api.byConnections).toBe(5);
  });

  it('sizes workers by CPU and says when the fleet cannot reach it', () => {
    const result = tierCapacity('medium', tier, measured);
    // 5,000 x 0.7 ms = 3.5 cores / 0.7 = 5 workers > max 4
    expect(result.worker.needed).toBe(5);
    expect(result.verdict).toContain('worker: needs 5, max is 4');
    expect(result.verdict.some((line) => line.startsWith('api: needs 5 at peak'))).toBe(true);
  });

  it('keeps the tier minimum as a floor and flags instances with more vCPUs than one process uses', () => {
    const idle = tierCapacity(
      'large',
      { ...tier, users: 10, api: { instanceType: 'c5.xlarge', min: 10, max: 40, desired: 20 } },
      measured,
    );
    expect(idle.api.needed).toBe(10);
    expect(idle.verdict.join()).toContain('c5.xlarge has 4 vCPUs but runs one Node process');
  });

  it('models every configured tier', () => {
    expect(capacityModel(measured).map((row) => row.tier)).toEqual(['small', 'medium', 'large']);
  });

  it('parses assumption overrides and names a bad one', () => {
    expect(parseAssumptions('messagesPerUserPerSecond=0.1, targetCpu=0.6')).toEqual({
      ...DEFAULT_DEMAND,
      messagesPerUserPerSecond: 0.1,
      targetCpu: 0.6,
    });
    expect(() => parseAssumptions('usersPerCow=3')).toThrow(/usersPerCow=3/);
    expect(() => parseAssumptions('targetCpu=-1')).toThrow(/targetCpu/);
  });
});
