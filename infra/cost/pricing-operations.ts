import { HOURS_PER_MONTH, PRICES } from './prices-us-east-1';
import { CostLine, fleets, gb, PricingInput, retentionDays } from './pricing';
import { all } from './stack-json';
import { mailboxRetentionDays } from './pricing-devices';
import { deviceVolumes, monthlyVolumes } from './usage';

const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;

/**
 * SQS requests: sends, receives and deletes in batches on the messages queue, again on the notifications queue once
 * per registered recipient device without a socket (usage.deviceVolumes), idle long polls. FIFO requests cost more than standard ones: the messages queue is FIFO.
 */
function sqsLines({ resources, users, usage }: PricingInput): CostLine[] {
  const queues = all(resources, 'aws_sqs_queue');
  if (queues.length === 0) return [];
  const volumes = monthlyVolumes(users, usage);
  const workers = fleets(resources)
    .filter((fleet) => fleet.role === 'worker')
    .reduce((sum, fleet) => sum + fleet.desired, 0);
  const messagesFifo = queues.some(([, queue]) => queue.fifo_queue === true);
  const pollsPerLoop = workers * (SECONDS_PER_MONTH / 20);
  const messagesLoops = Math.min(usage.workerMessagesPollingLoops, usage.workerPollingLoops);
  const perBatch = 3 / usage.sqsBatchSize; // send + receive + delete
  const kinds = [
    {
      queue: messagesFifo ? 'messages (FIFO)' : 'messages',
      messages: volumes.messages,
      idlePolls: pollsPerLoop * messagesLoops,
      price: messagesFifo ? PRICES.sqs.perMillionFifoRequests : PRICES.sqs.perMillionRequests,
    },
    {
      queue: 'notifications',
      messages: deviceVolumes(users, usage, mailboxRetentionDays(resources)).pushes,
      idlePolls: pollsPerLoop * (usage.workerPollingLoops - messagesLoops),
      price: PRICES.sqs.perMillionRequests,
    },
  ];
  const lines: CostLine[] = kinds.map(({ queue, messages, idlePolls, price }) => {
    const requests = messages * perBatch + idlePolls;
    return {
      category: 'SQS',
      item: `requests on ${queue}: ${(messages / 1e6).toFixed(1)} M messages (batches of ${usage.sqsBatchSize}), ${(idlePolls / 1e6).toFixed(1)} M idle long polls`,
      quantity: `${(requests / 1e6).toFixed(1)} M requests`,
      monthly: (requests / 1e6) * price,
      basis: 'usage',
    };
  });
  const kmsQueues = queues.filter(([, queue]) => queue.kms_master_key_id).length;
  if (kmsQueues) {
    // Data keys are reused for kms_data_key_reuse_period_seconds (300 s) per queue and principal (api, worker roles).
    const kmsRequests =
      kmsQueues * 2 * (SECONDS_PER_MONTH / 300) * fleets(resources).reduce((sum, fleet) => sum + fleet.desired, 0);
    lines.push({
      category: 'KMS',
      item: `requests for SSE-KMS on ${kmsQueues} queues (data key reuse 300 s)`,
      quantity: `${Math.round(kmsRequests / 1000)} k requests`,
      monthly: (kmsRequests / 10_000) * PRICES.kms.per10kRequests,
      basis: 'usage',
    });
  }
  return lines;
}

function alarmMetrics(alarm: { metric_query?: Array<{ metric?: unknown }> }): number {
  return alarm.metric_query ? alarm.metric_query.filter((query) => query.metric).length : 1;
}

function monitoringLines({ resources, users, usage }: PricingInput): CostLine[] {
  const volumes = monthlyVolumes(users, usage);
  const lines: CostLine[] = [];
  const alarms = all(resources, 'aws_cloudwatch_metric_alarm');
  if (alarms.length) {
    const metrics = alarms.reduce((sum, [, alarm]) => sum + alarmMetrics(alarm), 0);
    lines.push({
      category: 'CloudWatch',
      item: `${alarms.length} alarms (standard resolution, metric-math alarms count each metric)`,
      quantity: `${metrics} alarm metrics`,
      monthly: metrics * PRICES.cloudwatch.alarmMonthlyPerMetric,
      basis: 'synthesized',
    });
  }
  const dashboards = all(resources, 'aws_cloudwatch_dashboard').length;
  if (dashboards)
    lines.push({
      category: 'CloudWatch',
      item: "dashboards (the account's first 3 are free)",
      quantity: `${dashboards}`,
      monthly: dashboards * PRICES.cloudwatch.dashboardMonthly,
      basis: 'synthesized',
    });
  const appGb = gb(volumes.requests * usage.appLogBytesPerRequest + volumes.messages * 100);
  lines.push({
    category: 'CloudWatch',
    item: 'application logs (api request lines, worker)',
    quantity: `${appGb.toFixed(1)} GB ingested`,
    monthly: appGb * PRICES.cloudwatch.logsIngestPerGb,
    basis: 'usage',
    logs: { ingestGb: appGb, retentionDays: retentionDays(resources, '/api') },
  });
  if (all(resources, 'aws_flow_log').length) {
    const instances = fleets(resources).reduce((sum, fleet) => sum + fleet.desired, 0);
    const flowGb = instances * usage.flowLogGbPerInstanceMonth;
    lines.push({
      category: 'CloudWatch',
      item: 'VPC flow logs (ALL traffic)',
      quantity: `${flowGb} GB ingested`,
      monthly: flowGb * PRICES.cloudwatch.logsIngestPerGb,
      basis: 'usage',
      logs: { ingestGb: flowGb, retentionDays: retentionDays(resources, 'flow') },
    });
  }
  return lines;
}

function dataProtectionLines({ resources, users, usage }: PricingInput): CostLine[] {
  const lines: CostLine[] = [];
  const plans = all(resources, 'aws_backup_plan');
  const primary = all(resources, 'aws_db_instance').find(([, db]) => !db.replicate_source_db)?.[1];
  for (const [, plan] of plans) {
    const keepDays = Number(plan.rule?.[0]?.lifecycle?.delete_after ?? 30);
    const usedGb = Number(primary?.allocated_storage ?? 0) * usage.dbUsedShare;
    const snapshotGb = usedGb * (1 + usage.dbDailyChangeShare * keepDays);
    lines.push({
      category: 'Backup',
      item: `RDS snapshots (${plan.rule?.[0]?.schedule}, kept ${keepDays} days; incremental)`,
      quantity: `${Math.round(snapshotGb)} GB`,
      monthly: snapshotGb * PRICES.backup.rdsSnapshotPerGbMonth,
      basis: 'usage',
    });
  }
  const secrets = all(resources, 'aws_secretsmanager_secret').length;
  if (secrets)
    lines.push({
      category: 'Secrets Manager',
      item: 'secrets (JWT keyring, database master credentials, push webhook signing key when pushes go to one)',
      quantity: `${secrets}`,
      monthly: secrets * PRICES.secretsManager.secretMonthly,
      basis: 'synthesized',
    });
  const keys = all(resources, 'aws_kms_key').length;
  if (keys)
    lines.push({
      category: 'KMS',
      item: 'customer managed keys',
      quantity: `${keys}`,
      monthly: keys * PRICES.kms.keyMonthly,
      basis: 'synthesized',
    });
  const buckets = all(resources, 'aws_s3_bucket').length;
  if (buckets) {
    const volumes = monthlyVolumes(users, usage);
    // ALB and CloudFront access logs (kept up to a year by their lifecycle) and the static assets.
    const logGb = gb(volumes.requests * usage.accessLogBytesPerRequest * 2) * 12;
    const storedGb = logGb + usage.staticAssetsGb;
    lines.push({
      category: 'S3',
      item: `${buckets} buckets: access logs (a year kept) + static assets`,
      quantity: `${storedGb.toFixed(1)} GB`,
      monthly: storedGb * PRICES.s3.standardPerGbMonth,
      basis: 'usage',
    });
  }
  return lines;
}

/** CloudWatch Logs storage for every line that ingests logs, at its log group's retention (steady state). */
export function logStorageLine(lines: CostLine[], compression: number): CostLine | undefined {
  const stored = lines.reduce(
    (sum, line) =>
      sum + (line.logs ? line.logs.ingestGb * compression * Math.min(line.logs.retentionDays / 30.4, 120) : 0),
    0,
  );
  if (stored === 0) return undefined;
  return {
    category: 'CloudWatch',
    item: `logs storage (compressed ×${compression}, kept for each group's retention)`,
    quantity: `${stored.toFixed(1)} GB`,
    monthly: stored * PRICES.cloudwatch.logsStoragePerGbMonth,
    basis: 'usage',
  };
}

export function operationsLines(input: PricingInput): CostLine[] {
  return [...sqsLines(input), ...monitoringLines(input), ...dataProtectionLines(input)];
}
