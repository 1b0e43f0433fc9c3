import { HOURS_PER_MONTH, INSTANCE_SPECS, PRICES } from './prices-us-east-1';
import { all, Attributes, isTrue, referenced, Resources } from './stack-json';
import { UsageAssumptions } from './usage';

/**
 * Prices one synthesized stack: every billable resource read from its JSON (instance types, ASG desired
 * capacity, RDS class / Multi-AZ / storage / replicas, ElastiCache nodes, NAT gateways, endpoints...), and the
 * usage-driven charges (requests, GB, messages) from stated assumptions. Each line says which it is.
 */
export type Category =
  | 'EC2'
  | 'EBS'
  | 'RDS'
  | 'ElastiCache'
  | 'ALB'
  | 'NAT gateway'
  | 'VPC endpoints'
  | 'Public IPv4'
  | 'CloudFront'
  | 'WAF'
  | 'SQS'
  | 'CloudWatch'
  | 'Backup'
  | 'Secrets Manager'
  | 'KMS'
  | 'S3'
  | 'Data transfer';

export interface CostLine {
  category: Category;
  item: string;
  quantity: string;
  monthly: number;
  /** synthesized: counted from the stack; usage: from the usage assumptions. */
  basis: 'synthesized' | 'usage';
  /** CloudWatch Logs ingested by this line, GB/month, and the retention of its log group (storage is added once). */
  logs?: { ingestGb: number; retentionDays: number };
}

/** Retention of the first log group whose name contains `part` (30 days when none matches). */
export function retentionDays(resources: Resources, part: string): number {
  const group = all(resources, 'aws_cloudwatch_log_group').find(([, attributes]) =>
    String(attributes.name).includes(part),
  );
  return Number(group?.[1].retention_in_days ?? 30);
}

export interface PricingInput {
  resources: Resources;
  users: number;
  usage: UsageAssumptions;
}

interface Fleet {
  role: string;
  instanceType: string;
  desired: number;
  max: number;
  volumeGb: number;
  volumeType: string;
  detailedMonitoring: boolean;
}

export const hourly = (price: number, count = 1) => price * HOURS_PER_MONTH * count;
export const money = (value: number) => Math.round(value * 100) / 100;
export const gb = (bytes: number) => bytes / 1e9;

export function fleets(resources: Resources): Fleet[] {
  return all(resources, 'aws_autoscaling_group').map(([name, group]) => {
    const template = referenced(resources, group.launch_template?.id) ?? {};
    const ebs = template.block_device_mappings?.[0]?.ebs ?? {};
    return {
      role: name.split('_')[0],
      instanceType: String(template.instance_type),
      desired: Number(group.desired_capacity ?? group.min_size),
      max: Number(group.max_size),
      volumeGb: Number(ebs.volume_size ?? 8),
      volumeType: String(ebs.volume_type ?? 'gp3'),
      detailedMonitoring: isTrue(template.monitoring?.enabled),
    };
  });
}

function instanceHourly(instanceType: string): number {
  const spec = INSTANCE_SPECS[instanceType];
  if (!spec) throw new Error(`no price for EC2 instance type ${instanceType} in prices-us-east-1.ts`);
  return spec.hourly;
}

export function computeLines({ resources, usage }: PricingInput): CostLine[] {
  return fleets(resources).flatMap((fleet) => {
    const spec = INSTANCE_SPECS[fleet.instanceType];
    const lines: CostLine[] = [
      {
        category: 'EC2',
        item: `${fleet.role} ${fleet.instanceType} (ASG desired; max ${fleet.max})`,
        quantity: `${fleet.desired} × 730 h`,
        monthly: hourly(instanceHourly(fleet.instanceType), fleet.desired),
        basis: 'synthesized',
      },
      {
        category: 'EBS',
        item: `${fleet.role} root volumes ${fleet.volumeType}`,
        quantity: `${fleet.desired} × ${fleet.volumeGb} GB`,
        monthly:
          fleet.desired *
          fleet.volumeGb *
          (fleet.volumeType === 'gp2' ? PRICES.ebs.gp2PerGbMonth : PRICES.ebs.gp3PerGbMonth),
        basis: 'synthesized',
      },
    ];
    if (spec?.burstableBaseline !== undefined && usage.averageCpu > spec.burstableBaseline) {
      const surplus = (usage.averageCpu - spec.burstableBaseline) * spec.vcpu * HOURS_PER_MONTH * fleet.desired;
      lines.push({
        category: 'EC2',
        item: `${fleet.role} t3 unlimited surplus credits (average CPU ${usage.averageCpu * 100} % > baseline ${spec.burstableBaseline * 100} %)`,
        quantity: `${Math.round(surplus)} vCPU-h`,
        monthly: surplus * PRICES.ec2.t3SurplusPerVcpuHour,
        basis: 'usage',
      });
    }
    if (fleet.detailedMonitoring) {
      const metrics = fleet.desired * PRICES.ec2.detailedMonitoringMetricsPerInstance;
      lines.push({
        category: 'CloudWatch',
        item: `${fleet.role} EC2 detailed monitoring`,
        quantity: `${metrics} metrics`,
        monthly: metrics * PRICES.cloudwatch.metricMonthly,
        basis: 'synthesized',
      });
    }
    return lines;
  });
}

function rdsHourly(instanceClass: string): number {
  const price = PRICES.rds.instanceHourly[instanceClass];
  if (price === undefined) throw new Error(`no price for RDS instance class ${instanceClass} in prices-us-east-1.ts`);
  return price;
}

export function databaseLines({ resources, usage }: PricingInput): CostLine[] {
  const instances = all(resources, 'aws_db_instance');
  const primaries = instances.filter(([, db]) => !db.replicate_source_db).map(([, db]) => db);
  return instances
    .flatMap(([, db]) => {
      const source: Attributes = referenced(resources, db.replicate_source_db) ?? db;
      const storageGb = Number(db.allocated_storage ?? source.allocated_storage ?? 20);
      const copies = isTrue(db.multi_az) ? 2 : 1;
      const logGb =
        usage.rdsLogGbPerInstanceMonth +
        (Number(db.monitoring_interval) > 0 ? usage.enhancedMonitoringGbPerInstanceMonth : 0);
      const role = db.replicate_source_db
        ? 'read replica'
        : isTrue(db.multi_az)
          ? 'primary, Multi-AZ (standby doubles it)'
          : 'primary, single-AZ';
      const lines: CostLine[] = [
        {
          category: 'RDS',
          item: `${db.instance_class} ${role}`,
          quantity: `${copies} × 730 h`,
          monthly: hourly(rdsHourly(db.instance_class), copies),
          basis: 'synthesized',
        },
        {
          category: 'RDS',
          item: `storage ${db.storage_type ?? 'gp2'} (${role.split(',')[0]})`,
          quantity: `${copies} × ${storageGb} GB`,
          monthly: copies * storageGb * PRICES.rds.gp3PerGbMonth,
          basis: 'synthesized',
        },
        {
          category: 'CloudWatch',
          item: `${db.instance_class} ${role.split(',')[0]}: PostgreSQL logs${Number(db.monitoring_interval) > 0 ? ' + Enhanced Monitoring' : ''}`,
          quantity: `${logGb} GB ingested`,
          monthly: logGb * PRICES.cloudwatch.logsIngestPerGb,
          basis: 'usage',
          logs: { ingestGb: logGb, retentionDays: retentionDays(resources, '/aws/rds/') },
        },
      ];
      return lines;
    })
    .concat(
      primaries.flatMap((db) =>
        isTrue(db.manage_master_user_password)
          ? [
              {
                category: 'Secrets Manager' as Category,
                item: 'RDS-managed master password secret',
                quantity: '1 secret',
                monthly: PRICES.secretsManager.secretMonthly,
                basis: 'synthesized' as const,
              },
            ]
          : [],
      ),
    );
}

export function cacheLines({ resources }: PricingInput): CostLine[] {
  return all(resources, 'aws_elasticache_replication_group').map(([, group]) => {
    const nodes =
      group.num_cache_clusters !== undefined
        ? Number(group.num_cache_clusters)
        : Number(group.num_node_groups ?? 1) * (1 + Number(group.replicas_per_node_group ?? 0));
    const price = PRICES.elasticache.nodeHourly[group.node_type];
    if (price === undefined)
      throw new Error(`no price for ElastiCache node type ${group.node_type} in prices-us-east-1.ts`);
    const shape =
      group.num_node_groups !== undefined
        ? `${group.num_node_groups} shards × ${1 + Number(group.replicas_per_node_group ?? 0)}`
        : `${nodes} nodes`;
    return {
      category: 'ElastiCache',
      item: `${group.node_type} Redis (${shape})`,
      quantity: `${nodes} × 730 h`,
      monthly: hourly(price, nodes),
      basis: 'synthesized',
    };
  });
}
