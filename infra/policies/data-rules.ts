// Policy rules for the data layer, in the shape of rules.ts: AWS API constraints a plan cannot catch
// (an apply would fail half-way) and secret values Terraform would keep in its plan and state.
// Which database instances let Secrets Manager manage their password is a fact across resources,
// read from the stack once, at validation time.
import { TerraformResource, TerraformStack } from 'cdktf';
import { attributesOf } from './aspect';
import type { Attributes, PolicyRule } from './rules';

const truthy = (value: unknown) => value === true || value === 'true';
const present = (value: unknown) =>
  value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);

/** How a replica may name a source: `${aws_db_instance.x.identifier|id|arn}` or the literal identifier. */
function managedPasswordSources(stack: TerraformStack): Set<string> {
  const found = new Set<string>();
  for (const node of stack.node.findAll()) {
    if (!TerraformResource.isTerraformResource(node) || node.terraformResourceType !== 'aws_db_instance') continue;
    const a = attributesOf(node);
    if (!truthy(a.manage_master_user_password)) continue;
    for (const attribute of ['identifier', 'id', 'arn'])
      found.add(`\${aws_db_instance.${node.friendlyUniqueId}.${attribute}}`);
    if (typeof a.identifier === 'string') found.add(a.identifier);
  }
  return found;
}

/** A source given as an ARN names its region; an identifier or a reference to an instance of this stack is local. */
function sourceRegion(source: string): string | undefined {
  return /^arn:aws[a-z-]*:rds:([a-z0-9-]+):/.exec(source)?.[1];
}

/** Arguments whose value Terraform keeps in plan and state; each has a write-only form that it does not. */
export const VISIBLE_SECRET_ARGUMENTS: Record<
  string,
  { argument: string; instead: string; when?: (a: Attributes) => boolean }[]
> = {
  aws_db_instance: [{ argument: 'password', instead: 'password_wo (+ password_wo_version)' }],
  aws_elasticache_replication_group: [
    { argument: 'auth_token', instead: 'IAM authentication (aws_elasticache_user with authentication_mode iam)' },
  ],
  aws_elasticache_user: [{ argument: 'passwords', instead: 'authentication_mode { type = "iam" }' }],
  aws_secretsmanager_secret_version: [
    { argument: 'secret_string', instead: 'secret_string_wo (+ secret_string_wo_version)' },
    { argument: 'secret_binary', instead: 'secret_string_wo (+ secret_string_wo_version)' },
  ],
  aws_ssm_parameter: [
    { argument: 'value', instead: 'value_wo (+ value_wo_version)', when: (a) => a.type === 'SecureString' },
  ],
};

/** The data-layer rules for `stack`; `region` is the stack's own (a replica elsewhere needs its key named). */
export function dataPolicyRules(stack: TerraformStack, region: string): PolicyRule[] {
  let cached: Set<string> | undefined;
  const managedSource = (source: unknown) => (cached ??= managedPasswordSources(stack)).has(String(source));
  const sameRegion = (source: unknown) => (sourceRegion(String(source)) ?? region) === region;
  return [
    {
      // RDS user guide, "Password management with Amazon RDS and AWS Secrets Manager", limitations:
      // creating a read replica is not supported when the source manages its master password with Secrets Manager.
      // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html#rds-secrets-manager-limitations
      id: 'rds-replica-of-managed-password-source',
      description: 'No read replica of an instance whose master password Secrets Manager manages',
      types: ['aws_db_instance'],
      check: (a) =>
        present(a.replicate_source_db) && managedSource(a.replicate_source_db)
          ? `source ${a.replicate_source_db} has manage_master_user_password: RDS refuses to create its replica (write the password with password_wo instead)`
          : undefined,
    },
    {
      // RDS API reference, CreateDBInstanceReadReplica, KmsKeyId: "If you create an encrypted read replica in the
      // same AWS Region as the source DB instance ..., don't specify a value for this parameter. A read replica in
      // the same AWS Region is always encrypted with the same KMS key as the source."
      // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstanceReadReplica.html
      id: 'rds-replica-kms-key-same-region',
      description: 'A same-region read replica does not name a KMS key (it inherits the source’s)',
      types: ['aws_db_instance'],
      check: (a) =>
        present(a.replicate_source_db) && present(a.kms_key_id) && sameRegion(a.replicate_source_db)
          ? 'kms_key_id must not be set on a read replica in the source’s region: encryption and key are inherited'
          : undefined,
    },
    {
      // Terraform keeps every argument value in plan and state, sensitive or not ("Sensitive data in state",
      // https://developer.hashicorp.com/terraform/language/state/sensitive-data); write-only arguments are sent to
      // AWS and kept in neither (https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments),
      // as the AWS provider documents for aws_db_instance.password_wo, aws_secretsmanager_secret_version.secret_string_wo
      // and aws_ssm_parameter.value_wo; ElastiCache IAM authentication needs no secret at all
      // (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth-iam.html).
      id: 'no-terraform-visible-secret',
      description: 'No secret value in a Terraform-visible argument',
      types: Object.keys(VISIBLE_SECRET_ARGUMENTS),
      check: (a, _ctx, address) => {
        const type = address.slice(0, address.indexOf('.'));
        const found = (VISIBLE_SECRET_ARGUMENTS[type] ?? []).filter(
          (s) => present(a[s.argument]) && (s.when?.(a) ?? true),
        );
        return found.length
          ? found.map((s) => `${s.argument} would keep the secret in plan and state: use ${s.instead}`).join('; ')
          : undefined;
      },
    },
  ];
}
