// Every environment x tier is synthesized (policies included) and planned by the real terraform
// through the harness, offline. The plans must create what the tier promises.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { ENVIRONMENTS, TIERS, type TierName } from '../config';
import { synthesizeEnvironments } from '../app';
import { planStacks, type PlanResult } from '../../scripts/terraform/harness';

jest.setTimeout(600_000);

const outdir = mkdtempSync(join(tmpdir(), 'cyphr-stacks-test-'));
const tierNames = Object.keys(TIERS) as TierName[];
const cases = Object.values(ENVIRONMENTS).flatMap((environment) =>
  tierNames.map((tierName) => ({ environment, tierName, stack: `cyphr-${environment.name}-${tierName}` })),
);
const plans = new Map<string, PlanResult>();
let synthMs = 0;

beforeAll(async () => {
  const started = Date.now();
  const app = new App({ outdir });
  for (const tier of tierNames) synthesizeEnvironments(app, { tier });
  app.synth();
  synthMs = Date.now() - started;
  const results = await planStacks(
    cases.map((c) => join(outdir, 'stacks', c.stack)),
    { concurrency: 2 },
  );
  for (const c of cases) plans.set(c.stack, results.get(join(outdir, 'stacks', c.stack)) as PlanResult);
});

afterAll(() => {
  // A summary for the closing note: counts and times per stack.
  const lines = [`synth of ${cases.length} stacks: ${synthMs} ms`];
  for (const [stack, plan] of plans)
    lines.push(
      `${stack}: ${plan.createCount()} resources, plan total ${plan.timings.total} ms (init ${plan.timings.init}, validate ${plan.timings.validate}, plan ${plan.timings.plan})`,
    );
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
    expect(counts.aws_sqs_queue).toBe(3);
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
        instance_refresh: [{ strategy: 'Rolling', preferences: [{ min_healthy_percentage: 100, auto_rollback: true }] }],
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
  it('plans 1 primary + 2 replicas and an api group of min 2 / max 10 / desired 3', () => {
    const medium = plans.get('cyphr-production-medium') as PlanResult;
    expect(medium.countByType().aws_db_instance).toBe(3);
    const api = medium.resources('aws_autoscaling_group').find((r) => r.change.after?.name === 'cyphr-production-api');
    expect(api?.change.after).toMatchObject({ min_size: 2, max_size: 10, desired_capacity: 3 });
  });
});
