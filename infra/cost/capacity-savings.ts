import {
  capacityModel,
  DEFAULT_DEMAND,
  ONE_PROCESS_PER_INSTANCE,
  PROCESS_PER_VCPU,
  type DemandAssumptions,
  type FleetNeed,
  type MeasuredFigures,
  type TierCapacity,
} from '../../bench/capacity';
import { TIERS, type TierName, type TierSpec } from '../config/tiers';
import { HOURS_PER_MONTH, INSTANCE_SPECS, PRICES } from './prices-us-east-1';

/**
 * What the performance work saves per tier: the API and worker fleets the capacity model needs at the tier's peak
 * before (the per-operation costs the tiers were sized from, one Node process per instance) and after (the
 * current costs, one process per vCPU), priced per month. The fleet runs at peak only part of the month and the
 * groups scale, so these are the monthly figures of a fleet held at peak: an upper bound on the saving that scales
 * with the hours spent near peak. The stacks' own lines above price the desired counts.
 */
export interface FleetCost {
  instances: number;
  instanceType: string;
  processesPerInstance: number;
  monthly: number;
}

export interface TierSaving {
  tier: TierName;
  users: number;
  before: { api: FleetCost; worker: FleetCost; monthly: number };
  after: { api: FleetCost; worker: FleetCost; monthly: number };
  saved: number;
}

/** An instance-month at its average peak load: the hourly price, T3 surplus credits above baseline, its root volume. */
export function instanceMonthly(fleet: FleetNeed, rootVolumeGb: number): number {
  const spec = INSTANCE_SPECS[fleet.instanceType];
  if (!spec) throw new Error(`no price for ${fleet.instanceType}`);
  const busyVcpus = fleet.coresNeeded / Math.max(1, fleet.needed);
  const surplus =
    spec.burstableBaseline === undefined ? 0 : Math.max(0, busyVcpus - spec.burstableBaseline * spec.vcpu);
  return (
    (spec.hourly + surplus * PRICES.ec2.t3SurplusPerVcpuHour) * HOURS_PER_MONTH +
    rootVolumeGb * PRICES.ebs.gp3PerGbMonth
  );
}

function fleetCost(fleet: FleetNeed, tier: TierSpec): FleetCost {
  return {
    instances: fleet.needed,
    instanceType: fleet.instanceType,
    processesPerInstance: fleet.processesPerInstance,
    monthly: Number((fleet.needed * instanceMonthly(fleet, tier.rootVolumeGb)).toFixed(2)),
  };
}

const priced = (capacity: TierCapacity, tier: TierSpec) => {
  const api = fleetCost(capacity.api, tier);
  const worker = fleetCost(capacity.worker, tier);
  return { api, worker, monthly: Number((api.monthly + worker.monthly).toFixed(2)) };
};

export function capacitySavings(
  baseline: MeasuredFigures,
  current: MeasuredFigures,
  demand: DemandAssumptions = DEFAULT_DEMAND,
  tiers: Record<TierName, TierSpec> = TIERS,
): TierSaving[] {
  const before = capacityModel(baseline, demand, tiers, ONE_PROCESS_PER_INSTANCE);
  const after = capacityModel(current, demand, tiers, PROCESS_PER_VCPU);
  return before.map((old, index) => {
    const tier = tiers[old.tier];
    const was = priced(old, tier);
    const now = priced(after[index], tier);
    return {
      tier: old.tier,
      users: old.users,
      before: was,
      after: now,
      saved: Number((was.monthly - now.monthly).toFixed(2)),
    };
  });
}
