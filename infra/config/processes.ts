// How many Node processes an instance runs per role. One Node process runs its JavaScript on one core, so an
// instance with more vCPUs runs more processes (systemd template units cyphr-api@<n> / cyphr-worker@<n>, started by
// user data); the capacity model (bench/capacity.ts) counts the same number.
import { INSTANCE_SPECS } from '../cost/prices-us-east-1';
import { TIERS } from './tiers';

/**
 * At most this many per instance: each process's metrics port is its index appended to a fixed prefix
 * (packaging/systemd: 948<n>, 947<n>), so the index stays one digit; bigger instances are not worth it anyway
 * (more, smaller instances spread over the AZs and scale in finer steps).
 */
export const MAX_PROCESSES_PER_INSTANCE = 8;

/** vCPUs of an instance type the tiers may use (infra/cost/prices-us-east-1.ts lists them); unknown types fail. */
export function instanceVcpus(instanceType: string): number {
  const spec = INSTANCE_SPECS[instanceType];
  if (!spec) throw new Error(`instance type ${instanceType} is not in INSTANCE_SPECS (infra/cost/prices-us-east-1.ts)`);
  return spec.vcpu;
}

/** One process per vCPU, up to MAX_PROCESSES_PER_INSTANCE. */
export function processesPerInstance(instanceType: string): number {
  return Math.max(1, Math.min(instanceVcpus(instanceType), MAX_PROCESSES_PER_INSTANCE));
}

/** The process indexes an instance runs: the instance names of the template units (cyphr-api@0 ...). */
export function processIndexes(instanceType: string): number[] {
  return Array.from({ length: processesPerInstance(instanceType) }, (_, index) => index);
}

/**
 * Each process's loopback metrics port: the role's prefix and the process index (packaging/systemd's units set
 * METRICS_PORT=948%i and WORKER_METRICS_PORT=947%i; packaging/units.spec.ts checks they agree).
 */
export const METRICS_PORT_PREFIX = { api: '948', worker: '947' } as const;
export const metricsPort = (role: keyof typeof METRICS_PORT_PREFIX, index: number): number => {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_PROCESSES_PER_INSTANCE)
    throw new Error(`process index ${index} is outside 0..${MAX_PROCESSES_PER_INSTANCE - 1}`);
  return Number(`${METRICS_PORT_PREFIX[role]}${index}`);
};

/**
 * Every index a process may have on an instance of any tier: the CloudWatch agent's config is baked into the one
 * image every tier runs, so it names each of them (and no more: the Image Builder component that carries it is
 * limited to 16,000 characters).
 */
export const ALL_PROCESS_INDEXES = Array.from(
  {
    length: Math.max(
      ...Object.values(TIERS).flatMap((tier) =>
        [tier.api, tier.worker].map((g) => processesPerInstance(g.instanceType)),
      ),
    ),
  },
  (_, index) => index,
);
