import { TIERS, type TierName, type TierSpec } from '../infra/config/tiers';
import { INSTANCE_SPECS } from '../infra/cost/prices-us-east-1';

/**
 * The capacity model: measured per-process costs (CPU milliseconds per message, per history read, per held
 * connection; bytes per connection) scaled to each tier's demand, against what the tier configures.
 * Pure: capacity.spec.ts tests the arithmetic.
 *
 * CPU is the currency, not requests/s: on the bench machine the API and worker share 2 cores with the
 * services and the load generator, so their throughput there says little about an instance; their CPU
 * time per operation does. One Node process runs its JavaScript on one core (systemd starts one API or
 * one worker per instance), so an instance gives a process at most min(vCPUs, 1) core, used up to the
 * scale-out threshold.
 */
export interface MeasuredFigures {
  /** API CPU ms per message end to end (accept + push to the recipient's socket), highest measured rate. */
  apiCpuMsPerMessage: number;
  /** API CPU ms per history page. */
  apiCpuMsPerRead: number;
  /** Worker CPU ms per stored message (store, publish, queue a notification; the worst of drain and e2e). */
  workerCpuMsPerMessage: number;
  /** Connections one API process held through its heartbeats. */
  connectionsHeld: number;
  bytesPerConnection: number;
  /** API cores spent per 1,000 idle connections (heartbeats, presence refresh). */
  apiCoresPer1000Connections: number;
  /** API RSS with no connections, MiB. */
  apiBaseRssMiB: number;
}

export interface DemandAssumptions {
  /** Live WebSocket connections per concurrent user (devices online). */
  connectionsPerUser: number;
  /** Peak messages per second per concurrent user: the plan's 5,000 msg/s at 10,000 users = 0.5. */
  messagesPerUserPerSecond: number;
  /** Peak history pages per second per concurrent user. */
  historyReadsPerUserPerSecond: number;
  /** Fraction of a core a process may use before the fleet should grow (the scale-out alarm: 70 %). */
  targetCpu: number;
  /** Fraction of an instance's memory the API process may fill with connections. */
  memoryHeadroom: number;
}

export const DEFAULT_DEMAND: DemandAssumptions = {
  connectionsPerUser: 1,
  messagesPerUserPerSecond: 0.5,
  historyReadsPerUserPerSecond: 0.05,
  targetCpu: 0.7,
  memoryHeadroom: 0.6,
};

export interface TierCapacity {
  tier: TierName;
  users: number;
  connections: number;
  messagesPerSecond: number;
  readsPerSecond: number;
  api: {
    instanceType: string;
    byCpu: number;
    byConnections: number;
    needed: number;
    configured: { min: number; desired: number; max: number };
    /** Peak load one instance carries. */
    perInstance: { messagesPerSecond: number; connections: number };
  };
  worker: { instanceType: string; needed: number; configured: { min: number; desired: number; max: number } };
  verdict: string[];
}

const coresPerProcess = (instanceType: string) => Math.min(1, INSTANCE_SPECS[instanceType]?.vcpu ?? 1);

export function tierCapacity(
  name: TierName,
  tier: TierSpec,
  measured: MeasuredFigures,
  demand: DemandAssumptions = DEFAULT_DEMAND,
): TierCapacity {
  const connections = Math.round(tier.users * demand.connectionsPerUser);
  const messagesPerSecond = tier.users * demand.messagesPerUserPerSecond;
  const readsPerSecond = tier.users * demand.historyReadsPerUserPerSecond;

  const apiCoresNeeded =
    (messagesPerSecond * measured.apiCpuMsPerMessage + readsPerSecond * measured.apiCpuMsPerRead) / 1000 +
    (connections / 1000) * measured.apiCoresPer1000Connections;
  const apiByCpu = Math.ceil(apiCoresNeeded / (coresPerProcess(tier.api.instanceType) * demand.targetCpu));
  const memoryMiB = (INSTANCE_SPECS[tier.api.instanceType]?.memoryGiB ?? 2) * 1024;
  const byMemory = Math.floor(
    ((memoryMiB * demand.memoryHeadroom - measured.apiBaseRssMiB) * 1024 * 1024) /
      Math.max(1, measured.bytesPerConnection),
  );
  // Never count on more connections per process than the bench actually held.
  const connectionsPerProcess = Math.max(1, Math.min(byMemory, measured.connectionsHeld));
  const apiByConnections = Math.ceil(connections / connectionsPerProcess);
  // One instance per AZ at least: the tier's own minimum stays the floor.
  const apiNeeded = Math.max(apiByCpu, apiByConnections, tier.api.min);

  const workerCores = (messagesPerSecond * measured.workerCpuMsPerMessage) / 1000;
  const workerNeeded = Math.max(
    Math.ceil(workerCores / (coresPerProcess(tier.worker.instanceType) * demand.targetCpu)),
    tier.worker.min,
  );

  const verdict: string[] = [];
  if (apiNeeded > tier.api.max) verdict.push(`api: needs ${apiNeeded}, max is ${tier.api.max}`);
  else if (apiNeeded > tier.api.desired)
    verdict.push(
      `api: needs ${apiNeeded} at peak, desired ${tier.api.desired} (scales out within max ${tier.api.max})`,
    );
  if (workerNeeded > tier.worker.max) verdict.push(`worker: needs ${workerNeeded}, max is ${tier.worker.max}`);
  else if (workerNeeded > tier.worker.desired)
    verdict.push(
      `worker: needs ${workerNeeded} at peak, desired ${tier.worker.desired} (scales out within max ${tier.worker.max})`,
    );
  if ((INSTANCE_SPECS[tier.api.instanceType]?.vcpu ?? 1) > 2)
    verdict.push(
      `api: ${tier.api.instanceType} has ${INSTANCE_SPECS[tier.api.instanceType].vcpu} vCPUs but runs one Node process (uses ~1)`,
    );
  if (verdict.length === 0) verdict.push('fits the configured fleet');

  return {
    tier: name,
    users: tier.users,
    connections,
    messagesPerSecond,
    readsPerSecond,
    api: {
      instanceType: tier.api.instanceType,
      byCpu: apiByCpu,
      byConnections: apiByConnections,
      needed: apiNeeded,
      configured: { min: tier.api.min, desired: tier.api.desired, max: tier.api.max },
      perInstance: {
        messagesPerSecond: Math.round(messagesPerSecond / apiNeeded),
        connections: Math.round(connections / apiNeeded),
      },
    },
    worker: {
      instanceType: tier.worker.instanceType,
      needed: workerNeeded,
      configured: { min: tier.worker.min, desired: tier.worker.desired, max: tier.worker.max },
    },
    verdict,
  };
}

export function capacityModel(
  measured: MeasuredFigures,
  demand: DemandAssumptions = DEFAULT_DEMAND,
  tiers: Record<TierName, TierSpec> = TIERS,
): TierCapacity[] {
  return (Object.keys(tiers) as TierName[]).map((name) => tierCapacity(name, tiers[name], measured, demand));
}

/** `--assume messagesPerUserPerSecond=0.1,targetCpu=0.6` → a full set of assumptions. */
export function parseAssumptions(
  spec: string | undefined,
  base: DemandAssumptions = DEFAULT_DEMAND,
): DemandAssumptions {
  const result = { ...base };
  for (const part of (spec ?? '')
    .split(',')
    .map((text) => text.trim())
    .filter(Boolean)) {
    const [key, value] = part.split('=');
    if (!(key in base) || !Number.isFinite(Number(value)) || Number(value) < 0) {
      throw new Error(`--assume: "${part}" is not one of ${Object.keys(base).join(', ')} = a number`);
    }
    result[key as keyof DemandAssumptions] = Number(value);
  }
  return result;
}
