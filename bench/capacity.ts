import { TIERS, type GroupCapacity, type TierName, type TierSpec } from '../infra/config/tiers';
import { processesPerInstance } from '../infra/config/processes';
import { INSTANCE_SPECS } from '../infra/cost/prices-us-east-1';

/**
 * The capacity model: measured per-process costs (CPU milliseconds per message, per history read, per held
 * connection; bytes per connection) scaled to each tier's demand, against what the tier configures.
 * Pure: capacity.spec.ts tests the arithmetic.
 *
 * CPU is the currency, not requests/s: on the bench machine the API and worker share 2 cores with the
 * services and the load generator, so their throughput there says little about an instance; their CPU
 * time per operation does. One Node process runs its JavaScript on one core, so an instance runs one process
 * per vCPU (infra/config/processes.ts: systemd template units), each used up to the scale-out threshold.
 * The bench's figures are vCPU time on a KVM guest (its host threading unknown), counted like an EC2 vCPU; `vcpuYield`
 * prices the doubt that the second hyperthread of an EC2 core is worth a whole vCPU of that time.
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
  /**
   * Optional, from the bench's moderate-load phase (a few hundred msg/s over two API processes and one worker,
   * LOG_LEVEL=info, every recipient offline so every message also queues a push): per-message costs when
   * batches do not fill. Used for a tier whose processes each carry no more than that phase's rate.
   */
  moderate?: {
    apiCpuMsPerMessage: number;
    workerCpuMsPerMessage: number;
    /** Messages per second each API process accepted in that phase. */
    apiMessagesPerSecondPerProcess: number;
    /** Messages per second each worker process stored in that phase. */
    workerMessagesPerSecondPerProcess: number;
  };
  /** Optional: costs of one message to a 10-member conversation (fan-out to ten members); a missing role costs as 1:1. */
  groupMessage?: { apiCpuMsPerMessage?: number; workerCpuMsPerMessage?: number };
}

/** Every figure the capacity model needs from a bench run (the optional ones come with their own checks). */
export const MEASURED_FIGURE_NAMES: ReadonlyArray<keyof MeasuredFigures> = [
  'apiCpuMsPerMessage',
  'apiCpuMsPerRead',
  'workerCpuMsPerMessage',
  'connectionsHeld',
  'bytesPerConnection',
  'apiCoresPer1000Connections',
  'apiBaseRssMiB',
];

export interface DemandAssumptions {
  /** Live WebSocket connections per concurrent user (devices online). */
  connectionsPerUser: number;
  /** Peak messages per second per concurrent user: the plan's 5,000 msg/s at 10,000 users = 0.5. */
  messagesPerUserPerSecond: number;
  /** Peak history pages per second per concurrent user. */
  historyReadsPerUserPerSecond: number;
  /** Share of messages sent to 10-member conversations (priced only when groupMessage figures exist). */
  groupMessageShare: number;
  /** Fraction of a core a process may use before the fleet should grow (the scale-out alarm: 70 %). */
  targetCpu: number;
  /** Fraction of an instance's memory the API processes may fill with connections. */
  memoryHeadroom: number;
  /** Cores per instance left to the kernel's network stack, the CloudWatch and SSM agents. */
  instanceOverheadCores: number;
  /** What each vCPU after the first is worth in the bench's vCPU time (1: like for like; 0.6: a weak hyperthread). */
  vcpuYield: number;
}

export const DEFAULT_DEMAND: DemandAssumptions = {
  connectionsPerUser: 1,
  messagesPerUserPerSecond: 0.5,
  historyReadsPerUserPerSecond: 0.05,
  groupMessageShare: 0.2,
  targetCpu: 0.7,
  memoryHeadroom: 0.6,
  instanceOverheadCores: 0.1,
  vcpuYield: 1,
};

/** How many processes an instance of a type runs: the deployed rule, or one (the fleet before template units). */
export type ProcessRule = (instanceType: string) => number;
export const ONE_PROCESS_PER_INSTANCE: ProcessRule = () => 1;
export const PROCESS_PER_VCPU: ProcessRule = processesPerInstance;

export interface ModelOptions {
  demand?: DemandAssumptions;
  processes?: ProcessRule;
}

export interface FleetNeed {
  instanceType: string;
  processesPerInstance: number;
  /** Cores one instance gives this role at the scale-out threshold. */
  coresPerInstance: number;
  /** Cores the role needs at the tier's peak. */
  coresNeeded: number;
  /** CPU ms per message the model used (saturation or moderate figure). */
  cpuMsPerMessage: number;
  needed: number;
  configured: { min: number; desired: number; max: number };
}

export interface TierCapacity {
  tier: TierName;
  users: number;
  connections: number;
  messagesPerSecond: number;
  readsPerSecond: number;
  api: FleetNeed & {
    byCpu: number;
    byConnections: number;
    /** Peak load one instance carries. */
    perInstance: { messagesPerSecond: number; connections: number };
  };
  worker: FleetNeed;
  verdict: string[];
}

const specOf = (instanceType: string) => {
  const spec = INSTANCE_SPECS[instanceType];
  if (!spec) throw new Error(`instance type ${instanceType} is not in INSTANCE_SPECS (infra/cost/prices-us-east-1.ts)`);
  return spec;
};

/** Cores an instance gives its processes at the threshold: one per process, within what the vCPUs yield. */
export function coresPerInstance(instanceType: string, processes: number, demand: DemandAssumptions): number {
  const vcpus = specOf(instanceType).vcpu;
  const effective = 1 + (vcpus - 1) * demand.vcpuYield - demand.instanceOverheadCores;
  return Math.min(processes, effective) * demand.targetCpu;
}

/** Per-message CPU for a role: the moderate-load figure when each process carries no more than that phase did. */
function perMessageCost(
  saturation: number,
  moderate: { cost: number; rate: number } | undefined,
  group: number | undefined,
  demand: DemandAssumptions,
  perProcessRate: (costMs: number) => number,
): number {
  const mix = (oneToOne: number) =>
    group === undefined ? oneToOne : oneToOne * (1 - demand.groupMessageShare) + group * demand.groupMessageShare;
  if (!moderate) return mix(saturation);
  // The moderate figure is dearer per message (batches do not fill); at or below its rate it is the honest one.
  const atSaturation = mix(saturation);
  return perProcessRate(atSaturation) <= moderate.rate ? mix(Math.max(saturation, moderate.cost)) : atSaturation;
}

export function tierCapacity(
  name: TierName,
  tier: TierSpec,
  measured: MeasuredFigures,
  options: ModelOptions = {},
): TierCapacity {
  const demand = options.demand ?? DEFAULT_DEMAND;
  const processRule = options.processes ?? PROCESS_PER_VCPU;
  const connections = Math.round(tier.users * demand.connectionsPerUser);
  const messagesPerSecond = tier.users * demand.messagesPerUserPerSecond;
  const readsPerSecond = tier.users * demand.historyReadsPerUserPerSecond;

  // API
  const apiProcesses = processRule(tier.api.instanceType);
  const apiCoresPerInstance = coresPerInstance(tier.api.instanceType, apiProcesses, demand);
  const apiOtherCores =
    (readsPerSecond * measured.apiCpuMsPerRead) / 1000 + (connections / 1000) * measured.apiCoresPer1000Connections;
  // The group never runs fewer than its minimum, so the load per process is spread over at least that many.
  const apiInstancesFor = (costMs: number) =>
    Math.max(tier.api.min, Math.ceil(((messagesPerSecond * costMs) / 1000 + apiOtherCores) / apiCoresPerInstance));
  const apiCost = perMessageCost(
    measured.apiCpuMsPerMessage,
    measured.moderate && {
      cost: measured.moderate.apiCpuMsPerMessage,
      rate: measured.moderate.apiMessagesPerSecondPerProcess,
    },
    measured.groupMessage?.apiCpuMsPerMessage,
    demand,
    (costMs) => messagesPerSecond / (apiInstancesFor(costMs) * apiProcesses),
  );
  const apiCoresNeeded = (messagesPerSecond * apiCost) / 1000 + apiOtherCores;
  const apiByCpu = Math.ceil(apiCoresNeeded / apiCoresPerInstance);
  const memoryMiB = specOf(tier.api.instanceType).memoryGiB * 1024;
  const perProcessMiB = (memoryMiB * demand.memoryHeadroom) / apiProcesses;
  const byMemory = Math.floor(
    ((perProcessMiB - measured.apiBaseRssMiB) * 1024 * 1024) / Math.max(1, measured.bytesPerConnection),
  );
  // Never count on more connections per process than the bench actually held.
  const connectionsPerProcess = Math.max(1, Math.min(byMemory, measured.connectionsHeld));
  const apiByConnections = Math.ceil(connections / (connectionsPerProcess * apiProcesses));
  // One instance per AZ at least: the tier's own minimum stays the floor.
  const apiNeeded = Math.max(apiByCpu, apiByConnections, tier.api.min);

  // Worker
  const workerProcesses = processRule(tier.worker.instanceType);
  const workerCoresPerInstance = coresPerInstance(tier.worker.instanceType, workerProcesses, demand);
  const workerInstancesFor = (costMs: number) =>
    Math.max(tier.worker.min, Math.ceil((messagesPerSecond * costMs) / 1000 / workerCoresPerInstance));
  const workerCost = perMessageCost(
    measured.workerCpuMsPerMessage,
    measured.moderate && {
      cost: measured.moderate.workerCpuMsPerMessage,
      rate: measured.moderate.workerMessagesPerSecondPerProcess,
    },
    measured.groupMessage?.workerCpuMsPerMessage,
    demand,
    (costMs) => messagesPerSecond / (workerInstancesFor(costMs) * workerProcesses),
  );
  const workerCoresNeeded = (messagesPerSecond * workerCost) / 1000;
  const workerNeeded = Math.max(Math.ceil(workerCoresNeeded / workerCoresPerInstance), tier.worker.min);

  const verdict: string[] = [];
  const judge = (role: string, needed: number, group: GroupCapacity) => {
    if (needed > group.max) verdict.push(`${role}: needs ${needed}, max is ${group.max}`);
    else if (needed > group.desired)
      verdict.push(`${role}: needs ${needed} at peak, desired ${group.desired} (scales out within max ${group.max})`);
  };
  judge('api', apiNeeded, tier.api);
  judge('worker', workerNeeded, tier.worker);
  for (const [role, group, processes] of [
    ['api', tier.api, apiProcesses],
    ['worker', tier.worker, workerProcesses],
  ] as const) {
    const vcpus = specOf(group.instanceType).vcpu;
    if (vcpus > processes)
      verdict.push(
        `${role}: ${group.instanceType} has ${vcpus} vCPUs but runs ${processes} Node process${processes > 1 ? 'es' : ''}`,
      );
  }
  if (verdict.length === 0) verdict.push('fits the configured fleet');

  const fleet = (group: GroupCapacity, processes: number, cores: number, coresNeeded: number, cost: number) => ({
    instanceType: group.instanceType,
    processesPerInstance: processes,
    coresPerInstance: Number(cores.toFixed(3)),
    coresNeeded: Number(coresNeeded.toFixed(2)),
    cpuMsPerMessage: Number(cost.toFixed(3)),
    configured: { min: group.min, desired: group.desired, max: group.max },
  });
  return {
    tier: name,
    users: tier.users,
    connections,
    messagesPerSecond,
    readsPerSecond,
    api: {
      ...fleet(tier.api, apiProcesses, apiCoresPerInstance, apiCoresNeeded, apiCost),
      byCpu: apiByCpu,
      byConnections: apiByConnections,
      needed: apiNeeded,
      perInstance: {
        messagesPerSecond: Math.round(messagesPerSecond / apiNeeded),
        connections: Math.round(connections / apiNeeded),
      },
    },
    worker: {
      ...fleet(tier.worker, workerProcesses, workerCoresPerInstance, workerCoresNeeded, workerCost),
      needed: workerNeeded,
    },
    verdict,
  };
}

export function capacityModel(
  measured: MeasuredFigures,
  demand: DemandAssumptions = DEFAULT_DEMAND,
  tiers: Record<TierName, TierSpec> = TIERS,
  processes: ProcessRule = PROCESS_PER_VCPU,
): TierCapacity[] {
  return (Object.keys(tiers) as TierName[]).map((name) =>
    tierCapacity(name, tiers[name], measured, { demand, processes }),
  );
}

/**
 * The yield of a vCPU after the first that the ceilings plan for: nothing. Whether an EC2 core's second hyperthread
 * is worth the bench's whole vCPU is unmeasured, and a max costs nothing until it is used, so each group's max holds
 * the fleet that one useful process per instance would need (as before the second process).
 */
export const PESSIMISTIC_VCPU_YIELD = 0;

/** The sensitivity the README states: a second hyperthread worth 60 % of the first. */
export const WEAK_VCPU_YIELD = 0.6;

/**
 * The group sizes a modelled need implies: the tier's minimum stays (one per AZ for the API: availability, not
 * load); desired (where a new group starts; scaling policies own it afterwards) never above the peak need at the
 * measured figures. max is a safety limit, not a cost: the peak need at the pessimistic yield
 * (`pessimisticNeed`) plus 25 % and at least two instances more, for the model's other errors (a per-message cost
 * between the moderate and saturation loads, uneven AZs).
 */
export function groupSizing(
  group: GroupCapacity,
  needed: number,
  pessimisticNeed: number = needed,
): Pick<GroupCapacity, 'min' | 'desired' | 'max'> {
  const ceiling = Math.max(needed, pessimisticNeed);
  const max = Math.max(Math.ceil(ceiling * 1.25), ceiling + 2);
  const desired = Math.max(group.min, Math.min(group.desired, needed));
  return { min: group.min, desired, max };
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
