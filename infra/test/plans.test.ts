// Every environment x tier is synthesized (policies included) to JSON, rendered to HCL (npm run synth:hcl's
// path), and both are validated and planned offline by the real terraform through the harness. The JSON plans
// must create what the tier promises; the HCL plans must be identical to them (same addresses and actions,
// planned values, unknown-until-apply attributes, outputs). One file, so each stack is planned once per run.
// Ephemeral random passwords are opened during plan: one Secrets Manager stand-in serves every plan, and
// every password it hands out is looked for (and must be absent) in every plan.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { App } from 'cdktf';
import { ENVIRONMENTS, pushOf, TIERS, type TierName } from '../config';
import { synthesizeEnvironments } from '../app';
import { planStacks, type PlanResult } from '../../scripts/terraform/harness';
import { synthHcl } from '../../scripts/terraform/hcl/synth-hcl';
import { SecretsManagerStandIn } from '../../scripts/testing/aws/secrets-manager';
import { comparablePlan, differences } from '../../scripts/terraform/hcl/compare';

jest.setTimeout(900_000);

const outdir = mkdtempSync(join(tmpdir(), 'cyphr-plans-test-'));
const jsonOut = join(outdir, 'json');
const hclOut = join(outdir, 'hcl');
const tierNames = Object.keys(TIERS) as TierName[];
const cases = Object.values(ENVIRONMENTS).flatMap((environment) =>
  tierNames.map((tierName) => ({ environment, tierName, stack: `cyphr-${environment.name}-${tierName}` })),
);
const stacks = cases.map((c) => c.stack);
const json = new Map<string, PlanResult>();
const hcl = new Map<string, PlanResult>();
/** The JSON plans, by stack (the assertions on what each tier creates read these). */
const plans = json;
const timings: string[] = [];
let secretsManager: SecretsManagerStandIn;
/** Rendering HCL failed: the JSON plans still run; every HCL assertion reports this error. */
let hclError: unknown;
const requireHcl = () => {
  if (hclError) throw hclError;
};

beforeAll(async () => {
  secretsManager = await SecretsManagerStandIn.start();
  let started = Date.now();
  const app = new App({ outdir: jsonOut });
  for (const tier of tierNames) synthesizeEnvironments(app, { tier });
  app.synth();
  timings.push(`synth JSON (${stacks.length} stacks): ${Date.now() - started} ms`);
  started = Date.now();
  try {
    synthHcl(jsonOut, hclOut);
  } catch (error) {
    hclError = error;
  }
  timings.push(`render + fmt HCL: ${Date.now() - started} ms`);
  started = Date.now();
  const jsonDirs = stacks.map((s) => join(jsonOut, 'stacks', s));
  // The harness strips the same provider settings (account guards, profiles) from HCL as from JSON.
  const hclDirs = hclError ? [] : stacks.map((s) => join(hclOut, 'stacks', s));
  const results = await planStacks([...jsonDirs, ...hclDirs], {
    concurrency: 2,
    secretsManagerEndpoint: secretsManager.url,
  });
  stacks.forEach((s, i) => {
    json.set(s, results.get(jsonDirs[i]) as PlanResult);
    if (!hclError) hcl.set(s, results.get(hclDirs[i]) as PlanResult);
  });
  timings.push(`plan ${stacks.length * 2} stacks: ${Date.now() - started} ms`);
});

afterAll(async () => {
  await secretsManager?.close();
  // A summary for the closing note: counts and times per stack.
  const lines = [...timings];
  for (const s of stacks) {
    const plan = json.get(s);
    if (!plan) continue;
    lines.push(
      `${s}: ${plan.createCount()} resources (JSON), ${hcl.get(s)?.createCount()} (HCL); JSON plan total ${plan.timings.total} ms (init ${plan.timings.init}, validate ${plan.timings.validate}, plan ${plan.timings.plan})`,
    );
  }
  const reportDir = join(__dirname, '..', '..', '.local', 'reports');
  mkdirSync(reportDir, { recursive: true });
  writeFileSync(join(reportDir, 'terraform-plans.txt'), `${lines.join('\n')}\n`);
  rmSync(outdir, { recursive: true, force: true });
});

describe.each(cases)('$stack plans offline', ({ environment, tierName, stack }) => {
  const tier = TIERS[tierName];
  const plan = () => plans.get(stack) as PlanResult;
  const afterOf = (type: string, key: string, value: string) => {
    const found = plan()
      .resources(type)
      .find((r) => r.change.after?.[key] === value);
    if (!found) throw new Error(`${stack}: no ${type} with ${key}=${value}`);
    return found.change.after as Record<string, unknown>;
  };

  it('validates and plans only creations', () => {
    expect(plan().validate.valid).toBe(true);
    const actions = new Set(
      plan()
        .resources()
        .flatMap((r) => r.change.actions),
    );
    expect([...actions]).toEqual(['create']);
  });

  it('creates the tier’s database, cache and fleets', () => {
    const counts = plan().countByType();
    expect(counts.aws_db_instance).toBe(1 + tier.database.replicas);
    expect(counts.aws_elasticache_replication_group).toBe(1);
    expect(counts.aws_autoscaling_group).toBe(2);
    expect(counts.aws_nat_gateway).toBe(environment.natGatewayPerAz ? 3 : 1);
    expect(counts.aws_subnet).toBe(9);
    // Messages (FIFO) and notifications, each with a dead-letter queue of its kind.
    expect(counts.aws_sqs_queue).toBe(4);
    expect(counts.aws_lb_listener).toBe(environment.domain ? 2 : 1);
    const replicas = plan()
      .resources('aws_db_instance')
      .filter((r) => r.change.after?.replicate_source_db !== undefined && r.change.after?.replicate_source_db !== null);
    expect(replicas).toHaveLength(tier.database.replicas);
  });

  it('sizes the api group as the tier says', () => {
    expect(afterOf('aws_autoscaling_group', 'name', `cyphr-${environment.name}-api`)).toMatchObject({
      min_size: tier.api.min,
      max_size: tier.api.max,
      desired_capacity: tier.api.desired,
      health_check_type: 'ELB',
    });
  });

  it('bakes the AMI with Image Builder; both launch templates wait for its AMI id; the groups roll', () => {
    const counts = plan().countByType();
    for (const type of [
      'aws_s3_object',
      'aws_imagebuilder_component',
      'aws_imagebuilder_image_recipe',
      'aws_imagebuilder_infrastructure_configuration',
      'aws_imagebuilder_distribution_configuration',
      'aws_imagebuilder_image',
    ])
      expect(counts[type]).toBe(1);
    expect(plan().resources('aws_s3_object')[0].change.after).toMatchObject({
      key: expect.stringMatching(/^bundles\/cyphr-.+\.tar\.gz$/),
      source_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      server_side_encryption: 'aws:kms',
    });
    for (const lt of plan().resources('aws_launch_template')) {
      expect(lt.change.after_unknown).toMatchObject({ image_id: true });
      expect(lt.change.after).toMatchObject({ update_default_version: true });
    }
    for (const group of plan().resources('aws_autoscaling_group'))
      expect(group.change.after).toMatchObject({
        instance_refresh: [
          { strategy: 'Rolling', preferences: [{ min_healthy_percentage: 100, auto_rollback: true }] },
        ],
      });
  });

  it('writes no secret into the plan: write-only arguments are null, no generated password appears', () => {
    const writeOnly = ['password_wo', 'secret_string_wo', 'value_wo'];
    const planned = plan().plan.planned_values as {
      root_module?: { resources?: { values?: Record<string, unknown> }[] };
    };
    const values = [
      ...plan()
        .resources()
        .map((r) => r.change.after ?? {}),
      ...(planned.root_module?.resources ?? []).map((r) => r.values ?? {}),
    ];
    for (const v of values) for (const key of writeOnly) expect(v[key] ?? null).toBeNull();
    // The JWT keyring, the database master login, and the push webhook's signing key when pushes go to one.
    const webhook = pushOf(environment).provider === 'webhook';
    expect(plan().resources('aws_secretsmanager_secret_version')).toHaveLength(webhook ? 3 : 2);
    for (const version of plan().resources('aws_secretsmanager_secret_version'))
      expect(version.change.after).toMatchObject({
        secret_string: null,
        secret_binary: null,
        secret_string_wo_version: 1,
      });
    // The plan opened the ephemeral passwords (so the stand-in handed some out), and none of them is in it.
    expect(secretsManager.randomPasswords.length).toBeGreaterThan(0);
    const shown = JSON.stringify(plan().plan);
    expect(secretsManager.randomPasswords.filter((password) => shown.includes(password))).toEqual([]);
  });

  it('logs the apps into Redis as IAM users of a user group whose default user is disabled', () => {
    const prefix = `cyphr-${environment.name}`;
    const users = plan().resources('aws_elasticache_user');
    const user = (name: string) => users.find((u) => u.change.after?.user_name === name)?.change.after;
    for (const role of ['api', 'worker'])
      expect(user(`${prefix}-${role}`)).toMatchObject({
        user_id: `${prefix}-${role}`,
        authentication_mode: [{ type: 'iam' }],
      });
    expect(user('default')).toMatchObject({
      user_id: `${prefix}-default`,
      access_string: expect.stringMatching(/^off /),
      authentication_mode: [{ type: 'no-password-required' }],
    });
    const [group] = plan().resources('aws_elasticache_user_group');
    expect(group.change.after).toMatchObject({ engine: 'redis', user_group_id: `${prefix}-redis-users` });
    expect([...(group.change.after?.user_ids as string[])].sort()).toEqual(
      [`${prefix}-api`, `${prefix}-default`, `${prefix}-worker`].sort(),
    );
    expect(afterOf('aws_elasticache_replication_group', 'replication_group_id', `${prefix}-redis`)).toMatchObject({
      user_group_ids: [`${prefix}-redis-users`],
      transit_encryption_enabled: true,
      auth_token: null,
    });
  });

  it('creates replicas without kms_key_id, from a primary whose password RDS does not manage', () => {
    const configured = (
      plan().plan.configuration as {
        root_module: { resources: { address: string; expressions: Record<string, unknown> }[] };
      }
    ).root_module.resources;
    const databases = configured.filter((r) => r.address.startsWith('aws_db_instance.'));
    const replicas = databases.filter((r) => r.expressions.replicate_source_db);
    expect(replicas).toHaveLength(tier.database.replicas);
    for (const replica of replicas) {
      expect(replica.expressions.kms_key_id).toBeUndefined();
      expect(replica.expressions.password_wo).toBeUndefined();
    }
    const [primary] = databases.filter((r) => !r.expressions.replicate_source_db);
    expect(primary.expressions.manage_master_user_password).toBeUndefined();
    expect(primary.expressions.password).toBeUndefined();
    expect(afterOf('aws_db_instance', 'identifier', `cyphr-${environment.name}-db`)).toMatchObject({
      password: null,
      password_wo: null,
      password_wo_version: 1,
      iam_database_authentication_enabled: true,
    });
  });

  it('plans the primary as the environment wants it', () => {
    expect(afterOf('aws_db_instance', 'identifier', `cyphr-${environment.name}-db`)).toMatchObject({
      instance_class: tier.database.instanceClass,
      multi_az: environment.production,
      storage_encrypted: true,
      publicly_accessible: false,
      deletion_protection: environment.deletionProtection,
    });
  });
});

describe('the 10K tier (the plan, phase 3 and 4)', () => {
  // The plan's phase 3 said min 2 / max 10 / desired 3; the group's sizes now come from the capacity model.
  it('plans 1 primary + 2 replicas and an api group sized by the capacity model (tiers.ts)', () => {
    const medium = plans.get('cyphr-production-medium') as PlanResult;
    expect(medium.countByType().aws_db_instance).toBe(3);
    const api = medium.resources('aws_autoscaling_group').find((r) => r.change.after?.name === 'cyphr-production-api');
    const { min, max, desired } = TIERS.medium.api;
    expect(api?.change.after).toMatchObject({ min_size: min, max_size: max, desired_capacity: desired });
  });
});

describe('HCL output', () => {
  it('is terraform fmt clean', () => {
    requireHcl();
    expect(() =>
      execFileSync('terraform', ['fmt', '-check', '-recursive', join(hclOut, 'stacks')], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('is one file per top-level construct, plus the stack’s own files', () => {
    for (const stack of stacks) {
      const files = readdirSync(join(hclOut, 'stacks', stack)).filter((f) => f.endsWith('.tf'));
      expect(files).toEqual(
        expect.arrayContaining([
          'terraform.tf',
          'providers.tf',
          'outputs.tf',
          'network.tf',
          'security.tf',
          'database.tf',
          'cache.tf',
          'queues.tf',
          'load-balancer.tf',
          'api.tf',
          'worker.tf',
          'edge.tf',
          'monitoring.tf',
        ]),
      );
      expect(files).not.toContain('cdk.tf');
      const database = readFileSync(join(hclOut, 'stacks', stack, 'database.tf'), 'utf8');
      expect(database).toContain('resource "aws_db_instance" "database_primary" {');
    }
  });

  it('writes WAFv2 statements as nested blocks (cdktf renders them as `statement = {...}`)', () => {
    requireHcl();
    const text = readFileSync(join(hclOut, 'stacks', stacks[0], 'edge.tf'), 'utf8');
    expect(text).toMatch(/\n {4}statement \{\n {6}managed_rule_group_statement \{/);
    expect(text).not.toContain('[object Object]');
  });
});

describe.each(stacks)('%s', (stack) => {
  it('carries the stack’s assets (the bundle archive) next to the HCL', () => {
    requireHcl();
    const jsonAssets = join(jsonOut, 'stacks', stack, 'assets');
    const hclAssets = join(hclOut, 'stacks', stack, 'assets');
    expect(existsSync(hclAssets)).toBe(existsSync(jsonAssets));
  });

  it('validates and plans in JSON and HCL', () => {
    requireHcl();
    expect(json.get(stack)?.validate.valid).toBe(true);
    expect(hcl.get(stack)?.validate.valid).toBe(true);
  });

  it('plans identically from JSON and HCL', () => {
    requireHcl();
    const a = comparablePlan((json.get(stack) as PlanResult).plan);
    const b = comparablePlan((hcl.get(stack) as PlanResult).plan);
    expect(Object.keys(a.resources as object).sort()).toEqual(Object.keys(b.resources as object).sort());
    expect(differences(a, b)).toEqual([]);
  });

  it('puts CloudFront, WAF and the origin check in front of the ALB', () => {
    const plan = json.get(stack) as PlanResult;
    const counts = plan.countByType();
    expect(counts).toMatchObject({
      aws_cloudfront_distribution: 1,
      aws_wafv2_web_acl: 1,
      aws_lb_listener_rule: 1,
      terraform_data: 2,
      aws_backup_plan: 1,
      aws_cloudwatch_dashboard: 1,
    });
    const rule = plan.resources('aws_lb_listener_rule')[0];
    // The secret is made by Terraform at apply time: nothing in the plan knows it.
    const unknown = rule.change.after_unknown as { condition: unknown[] };
    expect(unknown.condition).toEqual(
      expect.arrayContaining([expect.objectContaining({ http_header: [{ values: true }] })]),
    );
    // Only the paths CloudFront forwards pass the origin check.
    const after = rule.change.after as { condition: { path_pattern: { values: string[] }[] }[] };
    const paths = after.condition.flatMap((c) => c.path_pattern.flatMap((p) => p.values));
    expect(paths.sort()).toEqual(['/health', '/v1/*']);
    const distribution = plan.resources('aws_cloudfront_distribution')[0].change.after as Record<string, unknown>;
    expect(distribution).toMatchObject({ http_version: 'http2and3', is_ipv6_enabled: true });
  });
});
