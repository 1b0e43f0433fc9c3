// Operational alarms as a table: each names the plan goal it guards. Scaling alarms live with the
// scaling policies (constructs/scaling.ts); these page a human through the SNS topic.
import type { CloudwatchMetricAlarmConfig } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { DEFAULT_MAILBOX_RETENTION_DAYS } from '../config/environments';
import type { MonitoredStack } from './targets';

export interface AlarmThresholds {
  /** The plan's `high-cpu`: average CPU percent. @default 80 */
  cpuPercent: number;
  /** The plan's response-time goal: p95 target response time in seconds. @default 0.1 */
  p95LatencySeconds: number;
  /** 5xx responses (ALB + targets) as a percent of requests. @default 1 */
  errorRatePercent: number;
  /** Seconds a read replica may lag. @default 30 */
  replicaLagSeconds: number;
  /** Seconds the oldest work message may wait. @default 300 */
  oldestMessageSeconds: number;
  /** Free storage below this share of the allocated storage. @default 0.1 */
  freeStorageRatio: number;
  /**
   * Pending device messages (all mailboxes) for 30 minutes: far above what the tier's users keep pending, so
   * clients stopped acknowledging or a sender is flooding. @default 20,000,000 (~25 GiB at ~1.3 KiB a row)
   */
  mailboxPendingMessages: number;
  /** Pushes the gateway failed (after the worker's own retries) in 5 minutes, three periods running. @default 50 */
  pushFailuresPer5Minutes: number;
}

export const DEFAULT_THRESHOLDS: AlarmThresholds = {
  cpuPercent: 80,
  p95LatencySeconds: 0.1,
  errorRatePercent: 1,
  replicaLagSeconds: 30,
  oldestMessageSeconds: 300,
  freeStorageRatio: 0.1,
  mailboxPendingMessages: 20_000_000,
  pushFailuresPer5Minutes: 50,
};

/** Slack past the retention before the oldest pending device message means the expiry pass has stopped. */
const MAILBOX_EXPIRY_SLACK_SECONDS = 3_600;

/** An alarm without its actions (the Monitoring construct adds the topic). */
export type AlarmSpec = Omit<CloudwatchMetricAlarmConfig, 'alarmActions' | 'okActions'> & {
  /** Construct id (stable Terraform address). */
  id: string;
  alarmName: string;
};

const GIB = 1024 ** 3;

export function alarmSpecs(t: MonitoredStack, th: AlarmThresholds): AlarmSpec[] {
  const p = t.namePrefix;
  const lb = { LoadBalancer: t.alb.arnSuffix };
  const over = 'GreaterThanThreshold';
  const specs: AlarmSpec[] = [
    ...t.fleets.map((f) => ({
      id: `${f.role}-high-cpu`,
      alarmName: `${p}-${f.role}-high-cpu`,
      alarmDescription: `The plan's high-cpu: ${f.role} average CPU above ${th.cpuPercent}% for 5 minutes (scaling out did not keep up)`,
      namespace: 'AWS/EC2',
      metricName: 'CPUUtilization',
      dimensions: { AutoScalingGroupName: f.groupName },
      statistic: 'Average',
      period: 60,
      evaluationPeriods: 5,
      threshold: th.cpuPercent,
      comparisonOperator: over,
      treatMissingData: 'missing',
    })),
    {
      id: 'db-high-cpu',
      alarmName: `${p}-db-high-cpu`,
      alarmDescription: `PostgreSQL primary CPU above ${th.cpuPercent}% for 10 minutes`,
      namespace: 'AWS/RDS',
      metricName: 'CPUUtilization',
      dimensions: { DBInstanceIdentifier: t.database.primaryId },
      statistic: 'Average',
      period: 300,
      evaluationPeriods: 2,
      threshold: th.cpuPercent,
      comparisonOperator: over,
      treatMissingData: 'missing',
    },
    {
      id: 'api-p95-latency',
      alarmName: `${p}-api-p95-latency`,
      alarmDescription: `The plan's response-time goal: ALB target response time p95 above ${th.p95LatencySeconds * 1000} ms for 5 minutes`,
      namespace: 'AWS/ApplicationELB',
      metricName: 'TargetResponseTime',
      dimensions: lb,
      extendedStatistic: 'p95',
      period: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      threshold: th.p95LatencySeconds,
      comparisonOperator: over,
      treatMissingData: 'notBreaching',
    },
    {
      id: 'api-5xx-rate',
      alarmName: `${p}-api-5xx-rate`,
      alarmDescription: `5xx responses (ALB and targets) above ${th.errorRatePercent}% of requests for 5 minutes`,
      metricQuery: [
        {
          id: 'rate',
          expression: 'IF(requests > 0, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)',
          label: '5xx %',
          returnData: true,
        },
        ...(
          [
            ['requests', 'RequestCount'],
            ['elb5xx', 'HTTPCode_ELB_5XX_Count'],
            ['target5xx', 'HTTPCode_Target_5XX_Count'],
          ] as const
        ).map(([id, metricName]) => ({
          id,
          returnData: false,
          metric: { namespace: 'AWS/ApplicationELB', metricName, dimensions: lb, stat: 'Sum', period: 60 },
        })),
      ],
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      threshold: th.errorRatePercent,
      comparisonOperator: over,
      treatMissingData: 'notBreaching',
    },
    {
      id: 'api-unhealthy-hosts',
      alarmName: `${p}-api-unhealthy-hosts`,
      alarmDescription: 'At least one API instance failing the ALB /health check for 3 minutes',
      namespace: 'AWS/ApplicationELB',
      metricName: 'UnHealthyHostCount',
      dimensions: { TargetGroup: t.alb.targetGroupArnSuffix, ...lb },
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 3,
      threshold: 0,
      comparisonOperator: over,
      treatMissingData: 'notBreaching',
    },
    ...t.database.replicaIds.map((id, i) => ({
      id: `db-replica-${i + 1}-lag`,
      alarmName: `${p}-db-replica-${i + 1}-lag`,
      alarmDescription: `Read replica ${id} more than ${th.replicaLagSeconds} s behind the primary for 5 minutes (history reads go stale)`,
      namespace: 'AWS/RDS',
      metricName: 'ReplicaLag',
      dimensions: { DBInstanceIdentifier: id },
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 5,
      threshold: th.replicaLagSeconds,
      comparisonOperator: over,
      treatMissingData: 'missing',
    })),
    {
      id: 'db-low-free-storage',
      alarmName: `${p}-db-low-free-storage`,
      alarmDescription: `PostgreSQL primary free storage below ${th.freeStorageRatio * 100}% of ${t.database.allocatedStorageGb} GiB`,
      namespace: 'AWS/RDS',
      metricName: 'FreeStorageSpace',
      dimensions: { DBInstanceIdentifier: t.database.primaryId },
      statistic: 'Minimum',
      period: 300,
      evaluationPeriods: 1,
      threshold: Math.round(t.database.allocatedStorageGb * th.freeStorageRatio * GIB),
      comparisonOperator: 'LessThanThreshold',
      treatMissingData: 'missing',
    },
    ...t.queues.deadLetters.map((q) => ({
      id: `${q.label}-dlq-not-empty`,
      alarmName: `${p}-${q.label}-dlq-not-empty`,
      alarmDescription: `Messages in the ${q.label} dead-letter queue: inspect and replay them (README, Operations)`,
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: q.name },
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 0,
      comparisonOperator: over,
      treatMissingData: 'notBreaching',
    })),
    ...t.queues.work.map((q) => ({
      id: `${q.label}-oldest-message`,
      alarmName: `${p}-${q.label}-oldest-message`,
      alarmDescription: `The oldest ${q.label} message has waited more than ${th.oldestMessageSeconds} s: workers are stuck or too few`,
      namespace: 'AWS/SQS',
      metricName: 'ApproximateAgeOfOldestMessage',
      dimensions: { QueueName: q.name },
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 5,
      threshold: th.oldestMessageSeconds,
      comparisonOperator: over,
      treatMissingData: 'notBreaching',
    })),
    ...(t.processMetricsNamespace ? workerAlarms(t, t.processMetricsNamespace, th) : []),
  ];
  return specs;
}

/** From the worker's own metrics (infra/constructs/cloudwatch-agent.ts): mailboxes and pushes. */
function workerAlarms(t: MonitoredStack, namespace: string, th: AlarmThresholds): AlarmSpec[] {
  const p = t.namePrefix;
  const retentionDays = t.mailboxRetentionDays ?? DEFAULT_MAILBOX_RETENTION_DAYS;
  const worker = { job: 'cyphr-worker' };
  return [
    {
      id: 'mailbox-expiry-stalled',
      alarmName: `${p}-mailbox-expiry-stalled`,
      alarmDescription: `A device message has waited more than ${retentionDays} days (MAILBOX_RETENTION_DAYS) plus an hour: the worker's expiry pass is not deleting`,
      namespace,
      metricName: 'cyphr_worker_mailbox_oldest_pending_age_seconds',
      dimensions: worker,
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 3,
      threshold: retentionDays * 86_400 + MAILBOX_EXPIRY_SLACK_SECONDS,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    },
    {
      id: 'mailbox-pending-high',
      alarmName: `${p}-mailbox-pending-high`,
      alarmDescription: `More than ${th.mailboxPendingMessages} device messages pending for 30 minutes: devices stopped acknowledging, or a sender floods mailboxes`,
      namespace,
      metricName: 'cyphr_worker_mailbox_pending_messages',
      dimensions: worker,
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 6,
      threshold: th.mailboxPendingMessages,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    },
    {
      id: 'push-failures',
      alarmName: `${p}-push-failures`,
      alarmDescription: `More than ${th.pushFailuresPer5Minutes} pushes failed in 5 minutes, 15 minutes running: the push gateway is down or refusing the signature`,
      namespace,
      metricName: 'cyphr_worker_push_total',
      dimensions: { ...worker, outcome: 'failed' },
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 3,
      threshold: th.pushFailuresPer5Minutes,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    },
  ];
}
