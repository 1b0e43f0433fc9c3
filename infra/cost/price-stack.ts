import { TIERS, type TierName } from '../config/tiers';
import { PLAN_TABLES } from './plan-tables';
import { cacheLines, Category, computeLines, CostLine, databaseLines, money, PricingInput } from './pricing';
import { edgeLines } from './pricing-edge';
import { networkLines } from './pricing-network';
import { deviceLines } from './pricing-devices';
import { logStorageLine, operationsLines } from './pricing-operations';
import { Resources } from './stack-json';
import { UsageAssumptions } from './usage';

/** Resource types priced above (directly or through the resource that bills for them). */
const PRICED = new Set([
  'aws_autoscaling_group',
  'aws_launch_template',
  'aws_db_instance',
  'aws_elasticache_replication_group',
  'aws_lb',
  'aws_nat_gateway',
  'aws_eip',
  'aws_vpc_endpoint',
  'aws_cloudfront_distribution',
  'aws_wafv2_web_acl',
  'aws_wafv2_web_acl_logging_configuration',
  'aws_sqs_queue',
  'aws_cloudwatch_metric_alarm',
  'aws_cloudwatch_dashboard',
  'aws_cloudwatch_log_group',
  'aws_flow_log',
  'aws_backup_plan',
  'aws_secretsmanager_secret',
  'aws_kms_key',
  'aws_s3_bucket',
]);

/** Types with no charge of their own (configuration, identity, routing) — or whose charge is usage priced elsewhere. */
const FREE = new Set([
  'aws_acm_certificate',
  'aws_acm_certificate_validation',
  'aws_autoscaling_policy',
  'aws_backup_selection',
  'aws_backup_vault',
  'aws_backup_vault_lock_configuration',
  'aws_backup_vault_policy',
  'aws_cloudfront_origin_access_control',
  'aws_cloudfront_response_headers_policy',
  'aws_cloudwatch_log_resource_policy',
  'aws_db_parameter_group',
  'aws_db_subnet_group',
  'aws_default_security_group',
  'aws_elasticache_parameter_group',
  'aws_elasticache_subnet_group',
  'aws_elasticache_user',
  'aws_elasticache_user_group',
  'aws_iam_instance_profile',
  'aws_iam_openid_connect_provider',
  'aws_iam_role',
  'aws_iam_role_policy',
  'aws_iam_role_policy_attachment',
  'aws_iam_policy',
  'aws_internet_gateway',
  'aws_kms_alias',
  'aws_lb_listener',
  'aws_lb_listener_rule',
  'aws_lb_target_group',
  'aws_route',
  'aws_route53_record',
  'aws_route_table',
  'aws_route_table_association',
  'aws_s3_bucket_lifecycle_configuration',
  'aws_s3_bucket_logging',
  'aws_s3_bucket_ownership_controls',
  'aws_s3_bucket_policy',
  'aws_s3_bucket_public_access_block',
  'aws_s3_bucket_server_side_encryption_configuration',
  'aws_s3_bucket_versioning',
  'aws_s3_object',
  // Billed per secret (aws_secretsmanager_secret), not per version.
  'aws_secretsmanager_secret_version',
  'aws_security_group',
  'aws_sns_topic_policy',
  'aws_sns_topic_subscription',
  'aws_sqs_queue_policy',
  'aws_sqs_queue_redrive_allow_policy',
  'aws_sqs_queue_redrive_policy',
  'aws_subnet',
  'aws_vpc',
  'aws_vpc_security_group_egress_rule',
  'aws_vpc_security_group_ingress_rule',
  'terraform_data',
  'aws_key_pair',
  'aws_ssm_parameter',
  // Alarm e-mails: SNS's first 1,000 e-mail deliveries a month are free, and alarms are rare.
  'aws_sns_topic',
  // EC2 Image Builder has no charge of its own; the build instance runs minutes per release.
  'aws_imagebuilder_component',
  'aws_imagebuilder_image_recipe',
  'aws_imagebuilder_infrastructure_configuration',
  'aws_imagebuilder_distribution_configuration',
  'aws_imagebuilder_image_pipeline',
  'aws_imagebuilder_image',
  'aws_imagebuilder_workflow',
]);

export interface StackCost {
  stack: string;
  environment: string;
  tier: TierName;
  users: number;
  lines: CostLine[];
  total: number;
  byCategory: Partial<Record<Category, number>>;
  /** Resource types in the stack this report has no price for (shown, never silently dropped). */
  unpriced: string[];
  plan: {
    total: number;
    items: Array<{ label: string; monthly: number; ours: number }>;
    leftOut: number;
    leftOutCategories: Category[];
  };
}

export function priceStack(
  stack: string,
  environment: string,
  tier: TierName,
  resources: Resources,
  usage: UsageAssumptions,
): StackCost {
  const input: PricingInput = { resources, users: TIERS[tier].users, usage };
  const lines = [
    ...computeLines(input),
    ...databaseLines(input),
    ...cacheLines(input),
    ...networkLines(input),
    ...edgeLines(input),
    ...operationsLines(input),
    ...deviceLines(input),
  ];
  const storage = logStorageLine(lines, usage.logCompressionRatio);
  if (storage) lines.push(storage);
  for (const line of lines) line.monthly = money(line.monthly);
  const byCategory: Partial<Record<Category, number>> = {};
  for (const line of lines) byCategory[line.category] = money((byCategory[line.category] ?? 0) + line.monthly);
  const total = money(lines.reduce((sum, line) => sum + line.monthly, 0));

  const table = PLAN_TABLES[tier];
  const planned = new Set(table.items.flatMap((item) => item.categories));
  const leftOutCategories = (Object.keys(byCategory) as Category[]).filter((category) => !planned.has(category));
  return {
    stack,
    environment,
    tier,
    users: TIERS[tier].users,
    lines,
    total,
    byCategory,
    unpriced: Object.keys(resources)
      .filter((type) => !PRICED.has(type) && !FREE.has(type))
      .sort(),
    plan: {
      total: table.total,
      items: table.items.map((item) => ({
        label: item.label,
        monthly: item.monthly,
        ours: money(item.categories.reduce((sum, category) => sum + (byCategory[category] ?? 0), 0)),
      })),
      leftOut: money(leftOutCategories.reduce((sum, category) => sum + (byCategory[category] ?? 0), 0)),
      leftOutCategories,
    },
  };
}
