import { TIERS, type TierSpec } from '../infra/config/tiers';
import { DEFAULT_DEMAND, type DemandAssumptions } from './capacity';

/**
 * Past the large tier: the API and worker fleets grow by adding instances, the shared components do not. From
 * what one core of each did here with our own statements (capacity-per-core.ts), the largest shapes the tiers
 * configure and AWS's published quotas, this finds the user count at which each shared component reaches the
 * scale-out threshold, and names the first. Pure: capacity-scale.spec.ts tests the arithmetic.
 */
export interface PerCoreFigures {
  measuredAt: string;
  machine: string;
  /** Rows the primary stores per second of its CPU with the worker's 10-row insert (8 connections). */
  postgresRowsPerCoreSecond: number;
  /** Redis pub/sub deliveries (a publish and its delivery to one subscriber) per second of Redis CPU. */
  redisDeliveriesPerCoreSecond: number;
  /** History pages (50 messages) a replica serves per second of its CPU. */
  replicaPagesPerCoreSecond?: number;
  raw?: unknown;
}

export interface ScaleAssumptions {
  /** Rows written on the primary per message: the message row (mailbox rows are for device messages only). */
  rowsPerMessage: number;
  /**
   * Redis operations per message: one publish per member and its delivery (2 + 2 for a 1:1 conversation), plus
   * what the API spends per send (rate-limit counters, cached membership and session checks): 2.
   */
  redisOperationsPerMessage: number;
  /** Messages per SQS call (SendMessageBatch / ReceiveMessage / DeleteMessageBatch carry up to 10). */
  sqsMessagesPerCall: number;
  /** Calls per second per API action a high-throughput FIFO queue takes in the deployed region. */
  sqsFifoCallsPerSecond: number;
  /** Where the quota comes from. */
  sqsRegion: string;
}

export const DEFAULT_SCALE: ScaleAssumptions = {
  rowsPerMessage: 1,
  redisOperationsPerMessage: 6,
  sqsMessagesPerCall: 5,
  // SQS developer guide, "Amazon SQS message quotas", high throughput for FIFO queues: 19,000 TPS per API action in
  // US East (Ohio) and Europe (Frankfurt), 70,000 in N. Virginia, Oregon and Ireland. Our environments deploy to
  // eu-central-1.
  sqsFifoCallsPerSecond: 19_000,
  sqsRegion: 'eu-central-1',
};

/** vCPUs of the RDS classes the tiers use (a class outside this table fails: add it with its vCPUs). */
export const RDS_VCPUS: Record<string, number> = {
  'db.t3.medium': 2,
  'db.t3.large': 2,
  'db.m5.large': 2,
  'db.r5.large': 2,
  'db.r5.xlarge': 4,
  'db.r5.2xlarge': 8,
  'db.r5.4xlarge': 16,
  'db.r6i.large': 2,
  'db.r6g.large': 2,
};

export interface ComponentLimit {
  component: string;
  /** What bounds it, in words, with the figures used. */
  basis: string;
  /** Messages per second it carries at the threshold. */
  messagesPerSecond: number;
  /** Concurrent users at that rate (the demand's messages per user). */
  users: number;
  /** The way past it on managed engines. */
  next: string;
}

export interface ScaleReport {
  /** The largest tier, whose shapes the limits assume. */
  from: { users: number; database: string; databaseVcpus: number; replicas: number; cacheShards: number };
  components: ComponentLimit[];
  /** The component that saturates first. */
  first: ComponentLimit;
}

const vcpusOf = (instanceClass: string) => {
  const vcpus = RDS_VCPUS[instanceClass];
  if (!vcpus) throw new Error(`RDS class ${instanceClass} is not in RDS_VCPUS (bench/capacity-scale.ts)`);
  return vcpus;
};

/** The tier with the most users: its database class, replicas and cache shards are the largest configured. */
export function largestTier(tiers: Record<string, TierSpec> = TIERS): TierSpec {
  return Object.values(tiers).reduce((largest, tier) => (tier.users > largest.users ? tier : largest));
}

export function scaleLimits(
  perCore: PerCoreFigures,
  demand: DemandAssumptions = DEFAULT_DEMAND,
  scale: ScaleAssumptions = DEFAULT_SCALE,
  tier: TierSpec = largestTier(),
): ScaleReport {
  const databaseVcpus = vcpusOf(tier.database.instanceClass);
  const usersAt = (messagesPerSecond: number) => Math.floor(messagesPerSecond / demand.messagesPerUserPerSecond);
  const limit = (component: string, basis: string, messagesPerSecond: number, next: string): ComponentLimit => ({
    component,
    basis,
    messagesPerSecond: Math.floor(messagesPerSecond),
    users: usersAt(messagesPerSecond),
    next,
  });
  const threshold = `${demand.targetCpu * 100} %`;

  const primaryRows = perCore.postgresRowsPerCoreSecond * databaseVcpus * demand.targetCpu;
  const components = [
    limit(
      'PostgreSQL primary (message writes)',
      `${perCore.postgresRowsPerCoreSecond.toLocaleString('en-US')} rows per core-second × ${databaseVcpus} vCPUs (${tier.database.instanceClass}) × ${threshold}, ${scale.rowsPerMessage} row per message; assumes the RDS instance's vCPUs scale like this machine's and storage keeps up (one WAL flush per 10-row commit)`,
      primaryRows / scale.rowsPerMessage,
      "first a larger class (db.r6i.4xlarge–8xlarge, io2 storage for the WAL), then Aurora PostgreSQL (log-structured storage: no full-page writes or checkpoints on the writer, up to 15 low-lag readers), then partitioning messages by conversation across several writers (hash of conversation_id chooses the cluster; a conversation's history stays on one)",
    ),
    limit(
      'Redis (pub/sub and API counters)',
      `${perCore.redisDeliveriesPerCoreSecond.toLocaleString('en-US')} operations per core-second × ${tier.cache.shards} shards (one command thread each) × ${threshold}, ${scale.redisOperationsPerMessage} operations per message`,
      (perCore.redisDeliveriesPerCoreSecond * tier.cache.shards * demand.targetCpu) / scale.redisOperationsPerMessage,
      "more shards: the cluster already uses sharded pub/sub (SPUBLISH on the user's slot), so deliveries spread by user id and grow with the shard count (ElastiCache: up to 500 shards)",
    ),
    limit(
      'SQS FIFO messages queue',
      `${scale.sqsFifoCallsPerSecond.toLocaleString('en-US')} calls per second per API action (high-throughput FIFO, ${scale.sqsRegion}) × ${scale.sqsMessagesPerCall} messages per call`,
      scale.sqsFifoCallsPerSecond * scale.sqsMessagesPerCall,
      'fuller batches (at this rate the API batcher fills most batches of 10: up to 2× this), a quota increase, then several queues chosen by a hash of the conversation (order only matters within a conversation, its message group); one message group takes 300 calls/s, far above a conversation',
    ),
  ];
  if (perCore.replicaPagesPerCoreSecond)
    components.push(
      limit(
        'PostgreSQL replicas (history reads)',
        `${perCore.replicaPagesPerCoreSecond.toLocaleString('en-US')} pages per core-second × ${databaseVcpus} vCPUs × ${tier.database.replicas} replicas × ${threshold}, ${demand.historyReadsPerUserPerSecond} pages per user-second`,
        (perCore.replicaPagesPerCoreSecond *
          databaseVcpus *
          tier.database.replicas *
          demand.targetCpu *
          demand.messagesPerUserPerSecond) /
          demand.historyReadsPerUserPerSecond,
        'more replicas (RDS for PostgreSQL: up to 15; Aurora: 15 readers on shared storage, no replay lag to watch)',
      ),
    );
  components.sort((x, y) => x.users - y.users);
  return {
    from: {
      users: tier.users,
      database: tier.database.instanceClass,
      databaseVcpus,
      replicas: tier.database.replicas,
      cacheShards: tier.cache.shards,
    },
    components,
    first: components[0],
  };
}
