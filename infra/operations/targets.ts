// What operations watch and back up, as plain names and identifiers (explicit props: the operations
// constructs never reach into the stack).

export interface MonitoredStack {
  /** Prefix of every name, e.g. cyphr-staging. */
  namePrefix: string;
  region: string;
  alb: {
    /** aws_lb.arn_suffix (the LoadBalancer dimension). */
    arnSuffix: string;
    /** aws_lb_target_group.arn_suffix (the TargetGroup dimension). */
    targetGroupArnSuffix: string;
  };
  /** Auto scaling groups by role (api, worker). */
  fleets: { role: string; groupName: string }[];
  database: {
    primaryId: string;
    replicaIds: string[];
    /** Allocated storage of the primary (the free-storage alarm fires below a share of it). */
    allocatedStorageGb: number;
  };
  cache: { replicationGroupId: string };
  queues: {
    /** Work queues (messages, notifications): depth and age of the oldest message. */
    work: { label: string; name: string }[];
    /** One per work queue (a FIFO queue's DLQ is FIFO, so messages and notifications have their own). */
    deadLetters: { label: string; name: string }[];
  };
  /** CloudWatch namespace of the processes' own metrics (scraped by the CloudWatch agent). @default no such widgets */
  processMetricsNamespace?: string;
  /** MAILBOX_RETENTION_DAYS of the workers: a mailbox older than that means the expiry pass stopped. @default 30 */
  mailboxRetentionDays?: number;
}
