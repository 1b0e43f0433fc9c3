import { roleEnvFiles } from '../user-data-env';
import { PRICES } from './prices-us-east-1';
import { CostLine, PricingInput } from './pricing';
import { all, isTrue, Resources } from './stack-json';
import { deviceVolumes } from './usage';

/** The worker's settings as its user data writes them (undefined when the stack has no worker). */
function workerSettings(resources: Resources): Record<string, string> | undefined {
  try {
    return roleEnvFiles({ resource: resources }).worker;
  } catch {
    return undefined;
  }
}

/** MAILBOX_RETENTION_DAYS from the worker's user data: the stack decides how long mailboxes keep messages. */
export function mailboxRetentionDays(resources: Resources): number {
  return Number(workerSettings(resources)?.MAILBOX_RETENTION_DAYS ?? 30);
}

/**
 * What devices add beyond the conversation path: sender-key distribution on the FIFO queue, the mailboxes'
 * share of the database's storage, and webhook pushes through NAT (only when the worker's user data sends pushes
 * to a webhook; the log provider sends nothing). Notifications queue requests are priced with the other queues.
 */
export function deviceLines({ resources, users, usage }: PricingInput): CostLine[] {
  const worker = workerSettings(resources);
  if (!worker) return [];
  const retention = mailboxRetentionDays(resources);
  const volumes = deviceVolumes(users, usage, retention);
  const lines: CostLine[] = [];
  const fifo = all(resources, 'aws_sqs_queue').some(([, queue]) => queue.fifo_queue === true);
  // Sent in batches by the API (one request per rotation's recipients), received and deleted in the worker's batches.
  const requests = volumes.deviceMessages * (3 / usage.sqsBatchSize);
  lines.push({
    category: 'SQS',
    item: `device messages on messages${fifo ? ' (FIFO)' : ''}: sender-key distribution, ${(volumes.deviceMessages / 1e6).toFixed(2)} M (one per recipient device per rotation)`,
    quantity: `${(requests / 1e6).toFixed(2)} M requests`,
    monthly: (requests / 1e6) * (fifo ? PRICES.sqs.perMillionFifoRequests : PRICES.sqs.perMillionRequests),
    basis: 'usage',
  });

  const primary = all(resources, 'aws_db_instance').find(([, db]) => !db.replicate_source_db)?.[1];
  const allocatedGb = Number(primary?.allocated_storage ?? 0);
  const freeGb = allocatedGb * (1 - usage.dbUsedShare);
  // Stored on the primary (twice when Multi-AZ) and every replica; paid for only beyond the free allocation.
  const copies =
    (isTrue(primary?.multi_az) ? 2 : 1) +
    all(resources, 'aws_db_instance').filter(([, db]) => db.replicate_source_db).length;
  const excessGb = Math.max(0, volumes.mailboxGb - freeGb);
  lines.push({
    category: 'RDS',
    item: `device mailboxes: ${(volumes.pendingRows / 1e6).toFixed(2)} M pending rows × ${usage.mailboxRowBytes} B (retention ${retention} days), ${allocatedGb ? ((100 * volumes.mailboxGb) / allocatedGb).toFixed(1) : '—'} % of the allocated storage${excessGb ? '' : ': fits, no extra charge'}`,
    quantity: `${volumes.mailboxGb.toFixed(2)} GB`,
    monthly: excessGb * copies * PRICES.rds.gp3PerGbMonth,
    basis: 'usage',
  });

  if (worker.PUSH_PROVIDER === 'webhook' && all(resources, 'aws_nat_gateway').length) {
    const pushGb = (volumes.pushes * usage.pushRequestBytes) / 1e9;
    lines.push({
      category: 'NAT gateway',
      item: `push webhook calls: ${(volumes.pushes / 1e6).toFixed(1)} M wake-ups (processed + internet egress)`,
      quantity: `${pushGb.toFixed(1)} GB`,
      monthly: pushGb * (PRICES.natGateway.perGbProcessed + PRICES.dataTransfer.internetOutPerGb),
      basis: 'usage',
    });
  }
  return lines;
}
