// Policy rules over synthesized resources. Each rule looks at one resource's Terraform attributes
// (tokens resolved to ${...} references) and returns a violation message, or nothing.

export type Attributes = Record<string, unknown>;

export interface PolicyContext {
  production: boolean;
  /** `${aws_security_group.x.id}` references used by application load balancers. */
  albSecurityGroups: Set<string>;
  /** `aws_s3_bucket.<id>` addresses and literal bucket names that have a server-side encryption configuration. */
  encryptedBuckets: Set<string>;
}

export interface PolicyRule {
  id: string;
  description: string;
  /** Terraform resource types the rule looks at. */
  types: string[];
  check(attributes: Attributes, context: PolicyContext, address: string): string | undefined;
}

const truthy = (value: unknown) => value === true || value === 'true';
const list = (value: unknown): Attributes[] => (Array.isArray(value) ? value : value ? [value] : []) as Attributes[];
const ANY = ['0.0.0.0/0', '::/0'];
const isPrimary = (a: Attributes) => !a.replicate_source_db;

function openIngress(
  cidr4: unknown,
  cidr6: unknown,
  fromPort: unknown,
  toPort: unknown,
  group: unknown,
  ctx: PolicyContext,
): string | undefined {
  const open = ANY.includes(String(cidr4)) || ANY.includes(String(cidr6));
  if (!open) return undefined;
  const webPort = fromPort === toPort && (fromPort === 80 || fromPort === 443);
  if (webPort && ctx.albSecurityGroups.has(String(group))) return undefined;
  return `ingress from the whole internet on ${fromPort}-${toPort}: only an ALB may be open, and only on 80/443`;
}

export const POLICY_RULES: PolicyRule[] = [
  {
    id: 'rds-encrypted',
    description: 'RDS storage is encrypted',
    types: ['aws_db_instance'],
    check: (a) => (truthy(a.storage_encrypted) ? undefined : 'storage_encrypted must be true'),
  },
  {
    id: 'ebs-encrypted',
    description: 'EBS volumes are encrypted',
    types: ['aws_launch_template', 'aws_ebs_volume', 'aws_instance'],
    check: (a, _ctx, address) => {
      if (address.startsWith('aws_ebs_volume.')) return truthy(a.encrypted) ? undefined : 'encrypted must be true';
      const volumes = [
        ...list(a.block_device_mappings).map((m) => list(m.ebs)[0] ?? {}),
        ...list(a.root_block_device),
        ...list(a.ebs_block_device),
      ];
      if (!volumes.length) return 'declare the root volume with encrypted = true (the AMI default may be unencrypted)';
      return volumes.every((v) => truthy(v.encrypted)) ? undefined : 'every EBS volume must set encrypted = true';
    },
  },
  {
    id: 'cache-encrypted',
    description: 'ElastiCache is encrypted at rest and in transit',
    types: ['aws_elasticache_replication_group'],
    check: (a) =>
      truthy(a.at_rest_encryption_enabled) && truthy(a.transit_encryption_enabled)
        ? undefined
        : 'at_rest_encryption_enabled and transit_encryption_enabled must be true',
  },
  {
    id: 'queue-encrypted',
    description: 'SQS queues use SSE-KMS or SSE-SQS',
    types: ['aws_sqs_queue'],
    check: (a) =>
      a.kms_master_key_id || truthy(a.sqs_managed_sse_enabled)
        ? undefined
        : 'set kms_master_key_id or sqs_managed_sse_enabled = true',
  },
  {
    id: 'bucket-encrypted',
    description: 'S3 buckets have a server-side encryption configuration',
    types: ['aws_s3_bucket'],
    check: (a, ctx, address) =>
      ctx.encryptedBuckets.has(address) || ctx.encryptedBuckets.has(String(a.bucket))
        ? undefined
        : 'needs an aws_s3_bucket_server_side_encryption_configuration',
  },
  {
    id: 'log-group-encrypted',
    description: 'CloudWatch log groups are KMS-encrypted',
    types: ['aws_cloudwatch_log_group'],
    check: (a) => (a.kms_key_id ? undefined : 'kms_key_id must be set'),
  },
  {
    id: 'log-group-retention',
    description: 'CloudWatch log groups expire events',
    types: ['aws_cloudwatch_log_group'],
    check: (a) =>
      typeof a.retention_in_days === 'number' && a.retention_in_days > 0 ? undefined : 'retention_in_days must be set',
  },
  {
    id: 'imdsv2',
    description: 'Instances require IMDSv2 tokens',
    types: ['aws_launch_template', 'aws_instance'],
    check: (a) =>
      list(a.metadata_options)[0]?.http_tokens === 'required'
        ? undefined
        : 'metadata_options.http_tokens must be "required" (IMDSv2)',
  },
  {
    id: 'rds-not-public',
    description: 'RDS instances are not publicly accessible',
    types: ['aws_db_instance'],
    check: (a) => (truthy(a.publicly_accessible) ? 'publicly_accessible must be false' : undefined),
  },
  {
    id: 'no-public-ip',
    description: 'Instances and subnets hand out no public IPs',
    types: ['aws_launch_template', 'aws_instance', 'aws_subnet'],
    check: (a) => {
      const nics = list(a.network_interfaces);
      if (truthy(a.associate_public_ip_address) || nics.some((n) => truthy(n.associate_public_ip_address)))
        return 'associate_public_ip_address must be false';
      if (truthy(a.map_public_ip_on_launch)) return 'map_public_ip_on_launch must be false';
      return undefined;
    },
  },
  {
    id: 'no-open-ingress',
    description: 'No ingress from 0.0.0.0/0 except ALB 80/443',
    types: ['aws_vpc_security_group_ingress_rule', 'aws_security_group_rule', 'aws_security_group'],
    check: (a, ctx) => {
      if ('security_group_id' in a && 'ip_protocol' in a)
        return openIngress(a.cidr_ipv4, a.cidr_ipv6, a.from_port, a.to_port, a.security_group_id, ctx);
      if (a.type === 'ingress') {
        const cidrs = [...list(a.cidr_blocks), ...list(a.ipv6_cidr_blocks)].map(String);
        return openIngress(
          cidrs.find((c) => c === ANY[0]),
          cidrs.find((c) => c === ANY[1]),
          a.from_port,
          a.to_port,
          a.security_group_id,
          ctx,
        );
      }
      for (const rule of list(a.ingress)) {
        const cidrs = [...list(rule.cidr_blocks), ...list(rule.ipv6_cidr_blocks)].map(String);
        if (cidrs.some((c) => ANY.includes(c)))
          return 'inline ingress from the whole internet: use intent methods (connections.ts)';
      }
      return undefined;
    },
  },
  {
    id: 'alb-drop-invalid-headers',
    description: 'ALBs drop invalid HTTP header fields',
    types: ['aws_lb', 'aws_alb'],
    check: (a) =>
      (a.load_balancer_type ?? 'application') !== 'application' || truthy(a.drop_invalid_header_fields)
        ? undefined
        : 'drop_invalid_header_fields must be true',
  },
  {
    id: 'alb-http-redirect',
    description: 'Plain-HTTP listeners only redirect to HTTPS',
    types: ['aws_lb_listener', 'aws_alb_listener'],
    check: (a) => {
      if (a.protocol !== 'HTTP') return undefined;
      const actions = list(a.default_action);
      return actions.every((x) => x.type === 'redirect' && list(x.redirect)[0]?.protocol === 'HTTPS')
        ? undefined
        : 'an HTTP listener must redirect to HTTPS';
    },
  },
  {
    id: 'rds-backups',
    description: 'RDS primaries keep automated backups',
    types: ['aws_db_instance'],
    check: (a) =>
      !isPrimary(a) || (typeof a.backup_retention_period === 'number' && a.backup_retention_period >= 1)
        ? undefined
        : 'backup_retention_period must be at least 1',
  },
  {
    id: 'production-rds-multi-az',
    description: 'Production RDS primaries are Multi-AZ',
    types: ['aws_db_instance'],
    check: (a, ctx) =>
      !ctx.production || !isPrimary(a) || truthy(a.multi_az) ? undefined : 'multi_az must be true in production',
  },
  {
    id: 'production-rds-deletion-protection',
    description: 'Production RDS instances have deletion protection',
    types: ['aws_db_instance'],
    check: (a, ctx) =>
      !ctx.production || truthy(a.deletion_protection) ? undefined : 'deletion_protection must be true in production',
  },
];
