/**
 * Public on-demand list prices, us-east-1 (N. Virginia), Linux, USD, as we know them on `PRICES_AS_OF`.
 * They are list prices to verify before a budget is signed: check them against the AWS Pricing Calculator
 * (https://calculator.aws) or the Price List API (`aws pricing get-products`). Our environments deploy to
 * eu-central-1, where most of these are ~10-20 % higher; the report says so beside every total.
 * No free tier, Savings Plans or Reserved Instances are applied.
 *
 * Sources (public pricing pages):
 *   EC2 / EBS / NAT / public IPv4 / data transfer  https://aws.amazon.com/ec2/pricing/on-demand/ , /ebs/pricing/ , /vpc/pricing/
 *   RDS for PostgreSQL                            https://aws.amazon.com/rds/postgresql/pricing/
 *   ElastiCache (Redis OSS, node-based)           https://aws.amazon.com/elasticache/pricing/
 *   Elastic Load Balancing (ALB)                  https://aws.amazon.com/elasticloadbalancing/pricing/
 *   CloudFront (pay as you go)                    https://aws.amazon.com/cloudfront/pricing/
 *   SQS, SNS                                      https://aws.amazon.com/sqs/pricing/ , /sns/pricing/
 *   WAF                                           https://aws.amazon.com/waf/pricing/
 *   CloudWatch (metrics, alarms, dashboards, logs) https://aws.amazon.com/cloudwatch/pricing/
 *   AWS Backup, Secrets Manager, KMS              https://aws.amazon.com/backup/pricing/ , /secrets-manager/pricing/ , /kms/pricing/
 *   VPC interface endpoints (PrivateLink)         https://aws.amazon.com/privatelink/pricing/
 *   S3 Standard                                   https://aws.amazon.com/s3/pricing/
 */
export const PRICES_AS_OF = '2025-06-01';
export const PRICE_REGION = 'us-east-1';
export const HOURS_PER_MONTH = 730;

/** vCPUs and memory: the capacity model uses them; hourly price: the cost report. */
export const INSTANCE_SPECS: Record<
  string,
  { vcpu: number; memoryGiB: number; hourly: number; burstableBaseline?: number }
> = {
  't3.micro': { vcpu: 2, memoryGiB: 1, hourly: 0.0104, burstableBaseline: 0.1 },
  't3.small': { vcpu: 2, memoryGiB: 2, hourly: 0.0208, burstableBaseline: 0.2 },
  't3.medium': { vcpu: 2, memoryGiB: 4, hourly: 0.0416, burstableBaseline: 0.2 },
  't3.large': { vcpu: 2, memoryGiB: 8, hourly: 0.0832, burstableBaseline: 0.3 },
  't3.xlarge': { vcpu: 4, memoryGiB: 16, hourly: 0.1664, burstableBaseline: 0.4 },
  'c5.large': { vcpu: 2, memoryGiB: 4, hourly: 0.085 },
  'c5.xlarge': { vcpu: 4, memoryGiB: 8, hourly: 0.17 },
  'c5.2xlarge': { vcpu: 8, memoryGiB: 16, hourly: 0.34 },
  'c6i.large': { vcpu: 2, memoryGiB: 4, hourly: 0.085 },
  'c6i.xlarge': { vcpu: 4, memoryGiB: 8, hourly: 0.17 },
  'c7i.large': { vcpu: 2, memoryGiB: 4, hourly: 0.08925 },
  'm5.large': { vcpu: 2, memoryGiB: 8, hourly: 0.096 },
  'm5.xlarge': { vcpu: 4, memoryGiB: 16, hourly: 0.192 },
  'm6i.large': { vcpu: 2, memoryGiB: 8, hourly: 0.096 },
};

export const PRICES = {
  ec2: {
    /** T3 "unlimited" (the default for t3): surplus CPU credits above the baseline, per vCPU-hour. */
    t3SurplusPerVcpuHour: 0.05,
    /** Detailed (1-minute) monitoring: ~7 metrics per instance at the first-tier metric price. */
    detailedMonitoringMetricsPerInstance: 7,
  },
  ebs: { gp3PerGbMonth: 0.08, gp2PerGbMonth: 0.1, snapshotPerGbMonth: 0.05 },
  rds: {
    /** Single-AZ hourly; Multi-AZ (one standby) is twice the instance and storage price. */
    instanceHourly: {
      'db.t3.micro': 0.018,
      'db.t3.small': 0.036,
      'db.t3.medium': 0.072,
      'db.t3.large': 0.145,
      'db.t4g.medium': 0.065,
      'db.m5.large': 0.178,
      'db.m6i.large': 0.178,
      'db.r5.large': 0.25,
      'db.r5.xlarge': 0.5,
      'db.r5.2xlarge': 1.0,
      'db.r6g.large': 0.225,
      'db.r6i.large': 0.25,
    } as Record<string, number>,
    gp3PerGbMonth: 0.115,
    gp2PerGbMonth: 0.115,
    /** Automated backups beyond 100 % of the region's provisioned storage, and snapshots. */
    backupPerGbMonth: 0.095,
    /** Enhanced Monitoring is billed as CloudWatch Logs ingestion (RDSOSMetrics). */
  },
  elasticache: {
    nodeHourly: {
      'cache.t3.micro': 0.017,
      'cache.t3.small': 0.034,
      'cache.t3.medium': 0.068,
      'cache.t4g.micro': 0.016,
      'cache.m5.large': 0.156,
      'cache.m5.xlarge': 0.311,
      'cache.m6g.large': 0.149,
      'cache.r5.large': 0.216,
      'cache.r6g.large': 0.206,
    } as Record<string, number>,
    backupPerGbMonth: 0.085,
  },
  alb: { hourly: 0.0225, lcuHourly: 0.008 },
  natGateway: { hourly: 0.045, perGbProcessed: 0.045 },
  /** Every public IPv4 address (EIPs, the ALB's per-AZ addresses), in use or not, since February 2024. */
  publicIpv4Hourly: 0.005,
  vpcInterfaceEndpoint: { hourlyPerAz: 0.01, perGbProcessed: 0.01 },
  dataTransfer: { internetOutPerGb: 0.09, interAzPerGbEachWay: 0.01 },
  cloudfront: { perGbOutNaEu: 0.085, per10kHttpsRequests: 0.01 },
  /** Standard and FIFO queues (per 64 KiB chunk of a request; our bodies are far smaller). */
  sqs: { perMillionRequests: 0.4, perMillionFifoRequests: 0.5 },
  waf: { webAclMonthly: 5, ruleMonthly: 1, perMillionRequests: 0.6 },
  cloudwatch: {
    metricMonthly: 0.3,
    alarmMonthlyPerMetric: 0.1,
    dashboardMonthly: 3,
    logsIngestPerGb: 0.5,
    /** Archived (compressed) log storage. */
    logsStoragePerGbMonth: 0.03,
  },
  backup: { rdsSnapshotPerGbMonth: 0.095 },
  secretsManager: { secretMonthly: 0.4, per10kApiCalls: 0.05 },
  kms: { keyMonthly: 1, per10kRequests: 0.03 },
  s3: { standardPerGbMonth: 0.023, per1kPutRequests: 0.005 },
  sns: { perMillionPublishes: 0.5 },
} as const;
