// Capacity tiers, from the plan's cost tables (../shared/seed/README.md) and its phase 3 scaling numbers.
// A tier is pure data: constructs read it, nothing branches on its name.
// The api and worker groups' min / max / desired come from the capacity model at the measured per-operation costs
// (bench/capacity-figures/current.json): `npm run capacity -- --write` rewrites them; capacity-update.spec.ts checks
// that they match. Each instance runs one Node process per vCPU (infra/config/processes.ts).

export type TierName = 'small' | 'medium' | 'large';

export interface GroupCapacity {
  instanceType: string;
  min: number;
  max: number;
  desired: number;
}

export interface TierSpec {
  /** Concurrent users the tier is sized for (documentation and the cost report). */
  users: number;
  api: GroupCapacity;
  worker: GroupCapacity & {
    /** Visible messages in `messages` above which one more worker starts. */
    scaleOutBacklog: number;
  };
  database: {
    instanceClass: string;
    /** Read replicas of the primary (same class). */
    replicas: number;
    allocatedStorageGb: number;
    maxAllocatedStorageGb: number;
  };
  cache: {
    nodeType: string;
    /** Shards; more than one means Redis cluster mode. */
    shards: number;
    /** Replicas per shard; any replica turns on automatic failover and Multi-AZ. */
    replicasPerShard: number;
  };
  /** Root volume of every instance. */
  rootVolumeGb: number;
}

export const TIERS: Record<TierName, TierSpec> = {
  // 1K users: EC2 2x t3.small, RDS db.t3.medium, Redis cache.t3.micro (one node).
  small: {
    users: 1_000,
    api: { instanceType: 't3.small', min: 2, max: 4, desired: 2 },
    worker: { instanceType: 't3.small', min: 1, max: 3, desired: 1, scaleOutBacklog: 500 },
    database: { instanceClass: 'db.t3.medium', replicas: 0, allocatedStorageGb: 20, maxAllocatedStorageGb: 100 },
    cache: { nodeType: 'cache.t3.micro', shards: 1, replicasPerShard: 0 },
    rootVolumeGb: 20,
  },
  // 10K users: EC2 t3.medium (phase 3: min 2, max 10, desired 3), RDS db.r5.large + 2 replicas, Redis cache.m5.large.
  medium: {
    users: 10_000,
    api: { instanceType: 't3.medium', min: 2, max: 6, desired: 2 },
    worker: { instanceType: 't3.medium', min: 1, max: 4, desired: 1, scaleOutBacklog: 1_000 },
    database: { instanceClass: 'db.r5.large', replicas: 2, allocatedStorageGb: 100, maxAllocatedStorageGb: 500 },
    cache: { nodeType: 'cache.m5.large', shards: 1, replicasPerShard: 1 },
    rootVolumeGb: 30,
  },
  // 100K users: EC2 20x c5.xlarge, RDS db.r5.2xlarge + 4 replicas, Redis in cluster mode.
  // c5.large rather than the plan's c5.xlarge: the same price per vCPU in steps half as large.
  large: {
    users: 100_000,
    api: { instanceType: 'c5.large', min: 10, max: 48, desired: 18 },
    worker: { instanceType: 'c5.large', min: 2, max: 20, desired: 4, scaleOutBacklog: 5_000 },
    database: { instanceClass: 'db.r5.2xlarge', replicas: 4, allocatedStorageGb: 500, maxAllocatedStorageGb: 2_000 },
    cache: { nodeType: 'cache.m5.large', shards: 3, replicasPerShard: 1 },
    rootVolumeGb: 30,
  },
};

export function isTierName(name: string): name is TierName {
  return Object.prototype.hasOwnProperty.call(TIERS, name);
}
