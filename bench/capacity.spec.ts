import type { TierSpec } from '../infra/config/tiers';
import {
  capacityModel,
  coresPerInstance,
  DEFAULT_DEMAND,
  groupSizing,
  MeasuredFigures,
  ONE_PROCESS_PER_INSTANCE,
  parseAssumptions,
  tierCapacity,
} from './capacity';

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
const oneProcess = { processes: ONE_PROCESS_PER_INSTANCE };

describe('capacity model: one process per instance (the fleet before template units)', () => {
  it('sizes the API by CPU: messages x ms + reads x ms + idle connections, at 70 % of one core per process', () => {
    const result = tierCapacity('medium', tier, measured, oneProcess);
    // 5,000 msg/s x 0.5 ms = 2.5 cores; 500 reads/s x 1 ms = 0.5; 10 x 0.01 = 0.1 -> 3.1 / 0.7 = 4.43 -> 5
    expect(result.messagesPerSecond).toBe(5_000);
    expect(result.api.processesPerInstance).toBe(1);
    expect(result.api.byCpu).toBe(5);
    expect(result.api.needed).toBe(5);
  });

  it('sizes the API by connections within 60 % of instance memory, never above what the bench held', () => {
    // t3.medium: 4 GiB x 0.6 = 2457.6 MiB - 100 base = 2357.6 MiB / 50 KiB = 48,283 > 10,000 held -> 10,000 per process
    expect(tierCapacity('medium', tier, measured, oneProcess).api.byConnections).toBe(1);
    const heavy = tierCapacity('medium', tier, { ...measured, bytesPerConnection: 1024 * 1024 }, oneProcess);
    // 2357.6 MiB / 1 MiB = 2357 per process -> 10,000 / 2357 = 5
    expect(heavy.api.byConnections).toBe(5);
  });

  it('sizes workers by CPU and says when the fleet cannot reach it', () => {
    const result = tierCapacity('medium', tier, measured, oneProcess);
    // 5,000 x 0.7 ms = 3.5 cores / 0.7 = 5 workers > max 4
    expect(result.worker.needed).toBe(5);
    expect(result.verdict).toContain('worker: needs 5, max is 4');
    expect(result.verdict.some((line) => line.startsWith('api: needs 5 at peak'))).toBe(true);
  });

  it('keeps the tier minimum as a floor and flags instances with more vCPUs than processes', () => {
    const idle = tierCapacity(
      'large',
      { ...tier, users: 10, api: { instanceType: 'c5.xlarge', min: 10, max: 40, desired: 20 } },
      measured,
      oneProcess,
    );
    expect(idle.api.needed).toBe(10);
    expect(idle.verdict.join()).toContain('api: c5.xlarge has 4 vCPUs but runs 1 Node process');
  });
});

describe('capacity model: one process per vCPU', () => {
  it('gives an instance one process per vCPU, each up to 70 % of a core, less what the instance keeps', () => {
    // 2 vCPUs: min(2 processes, 2 - 0.1 overhead) x 0.7 = 1.33 cores
    expect(coresPerInstance('t3.medium', 2, DEFAULT_DEMAND)).toBeCloseTo(1.33);
    expect(coresPerInstance('t3.medium', 1, DEFAULT_DEMAND)).toBeCloseTo(0.7);
    // A second hyperthread worth 60 % of the first: 1 + 0.6 - 0.1 = 1.5 x 0.7
    expect(coresPerInstance('c5.large', 2, { ...DEFAULT_DEMAND, vcpuYield: 0.6 })).toBeCloseTo(1.05);
  });

  it('needs fewer instances for the same cores, and no flag when every vCPU has a process', () => {
    const result = tierCapacity('medium', tier, measured);
    expect(result.api.processesPerInstance).toBe(2);
    // 3.1 cores / 1.33 = 2.33 -> 3; workers 3.5 / 1.33 = 2.63 -> 3
    expect(result.api.needed).toBe(3);
    expect(result.worker.needed).toBe(3);
    expect(result.verdict).toEqual(['worker: needs 3 at peak, desired 2 (scales out within max 4)']);
  });

  it('splits instance memory between its processes for the connection bound', () => {
    // 2357.6 MiB per process at one process; at two: 1228.8 - 100 = 1128.8 MiB / 1 MiB = 1128 per process, 2256 each
    const heavy = tierCapacity('medium', tier, { ...measured, bytesPerConnection: 1024 * 1024 });
    expect(heavy.api.byConnections).toBe(5);
  });

  it("uses the moderate-load cost where each process carries no more than that phase's rate", () => {
    const moderate = {
      apiCpuMsPerMessage: 0.9,
      workerCpuMsPerMessage: 1.2,
      apiMessagesPerSecondPerProcess: 160,
      workerMessagesPerSecondPerProcess: 320,
    };
    // small: 500 msg/s over 2 api instances x 2 processes = 125/s each <= 160: moderate figure
    const small = tierCapacity('small', { ...tier, users: 1_000 }, { ...measured, moderate });
    expect(small.api.cpuMsPerMessage).toBe(0.9);
    expect(small.worker.cpuMsPerMessage).toBe(1.2);
    // medium: 5,000 msg/s over 3 x 2 processes = 833/s each: the saturation figure
    const medium = tierCapacity('medium', tier, { ...measured, moderate });
    expect(medium.api.cpuMsPerMessage).toBe(0.5);
    expect(medium.worker.cpuMsPerMessage).toBe(0.7);
  });

  it('prices the share of messages to 10-member conversations when their costs are measured', () => {
    const result = tierCapacity('medium', tier, {
      ...measured,
      groupMessage: { apiCpuMsPerMessage: 1, workerCpuMsPerMessage: 2 },
    });
    // 80 % x 0.5 + 20 % x 1 = 0.6; worker 80 % x 0.7 + 20 % x 2 = 0.96
    expect(result.api.cpuMsPerMessage).toBe(0.6);
    expect(result.worker.cpuMsPerMessage).toBe(0.96);
  });

  it('models every configured tier', () => {
    expect(capacityModel(measured).map((row) => row.tier)).toEqual(['small', 'medium', 'large']);
  });
});

describe('group sizing from the model', () => {
  it('keeps the minimum, caps desired at the peak need, and sets max 25 % and at least two above the need', () => {
    expect(groupSizing({ instanceType: 'c5.large', min: 10, desired: 20, max: 80 }, 19)).toEqual({
      min: 10,
      desired: 19,
      max: 24,
    });
    expect(groupSizing({ instanceType: 't3.small', min: 2, desired: 2, max: 4 }, 2)).toEqual({
      min: 2,
      desired: 2,
      max: 4,
    });
  });

  it('sets max from the pessimistic need when it is larger, desired still from the measured need', () => {
    // Large at vcpuYield 0.6: 16 workers instead of 12 -> max(ceil(16 x 1.25), 16 + 2) = 20.
    expect(groupSizing({ instanceType: 'c5.large', min: 2, desired: 4, max: 15 }, 12, 16)).toEqual({
      min: 2,
      desired: 4,
      max: 20,
    });
    // A pessimistic need below the measured one (no second vCPU) never lowers max.
    expect(groupSizing({ instanceType: 't3.small', min: 2, desired: 2, max: 4 }, 3, 2).max).toBe(5);
  });

  it('is stable: sizing a sized group again changes nothing', () => {
    const once = {
      instanceType: 'c5.large',
      ...groupSizing({ instanceType: 'c5.large', min: 2, desired: 4, max: 48 }, 12),
    };
    expect(groupSizing(once, 12)).toEqual({ min: once.min, desired: once.desired, max: once.max });
  });
});

describe('assumptions', () => {
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
