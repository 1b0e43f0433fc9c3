// Every environment x tier is synthesized to JSON, rendered to HCL (npm run synth:hcl's path), and
// both are validated and planned offline by the real terraform. The two plans must be identical:
// same resource addresses and actions, same planned values, same unknown-until-apply attributes,
// same outputs. The edge must be in every plan.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { App } from 'cdktf';
import { ENVIRONMENTS, TIERS, type TierName } from '../config';
import { synthesizeEnvironments } from '../app';
import { planStacks, type PlanResult } from '../../scripts/terraform/harness';
import { synthHcl } from '../../scripts/terraform/hcl/synth-hcl';
import { comparablePlan, differences } from '../../scripts/terraform/hcl/compare';

jest.setTimeout(900_000);

const outdir = mkdtempSync(join(tmpdir(), 'cyphr-hcl-test-'));
const jsonOut = join(outdir, 'json');
const hclOut = join(outdir, 'hcl');
const tierNames = Object.keys(TIERS) as TierName[];
const stacks = Object.values(ENVIRONMENTS).flatMap((env) => tierNames.map((tier) => `cyphr-${env.name}-${tier}`));
const json = new Map<string, PlanResult>();
const hcl = new Map<string, PlanResult>();
const timings: string[] = [];

beforeAll(async () => {
  let started = Date.now();
  const app = new App({ outdir: jsonOut });
  for (const tier of tierNames) synthesizeEnvironments(app, { tier });
  app.synth();
  timings.push(`synth JSON (${stacks.length} stacks): ${Date.now() - started} ms`);
  started = Date.now();
  synthHcl(jsonOut, hclOut);
  timings.push(`render + fmt HCL: ${Date.now() - started} ms`);
  started = Date.now();
  const jsonDirs = stacks.map((s) => join(jsonOut, 'stacks', s));
  // The harness strips the same provider settings (account guards, profiles) from HCL as from JSON.
  const hclDirs = stacks.map((s) => join(hclOut, 'stacks', s));
  const results = await planStacks([...jsonDirs, ...hclDirs], { concurrency: 2 });
  stacks.forEach((s, i) => {
    json.set(s, results.get(jsonDirs[i]) as PlanResult);
    hcl.set(s, results.get(hclDirs[i]) as PlanResult);
  });
  timings.push(`plan ${stacks.length * 2} stacks: ${Date.now() - started} ms`);
});

afterAll(() => {
  const lines = [
    ...timings,
    ...stacks.map((s) => `${s}: ${json.get(s)?.createCount()} resources (JSON), ${hcl.get(s)?.createCount()} (HCL)`),
  ];
  const reportDir = join(__dirname, '..', '..', '.local', 'reports');
  mkdirSync(reportDir, { recursive: true });
  writeFileSync(join(reportDir, 'hcl-plans.txt'), `${lines.join('\n')}\n`);
  rmSync(outdir, { recursive: true, force: true });
});

describe('HCL output', () => {
  it('is terraform fmt clean', () => {
    expect(() =>
      execFileSync('terraform', ['fmt', '-check', '-recursive', join(hclOut, 'stacks')], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('writes WAFv2 statements as nested blocks (cdktf renders them as `statement = {...}`)', () => {
    const text = readFileSync(join(hclOut, 'stacks', stacks[0], 'cdk.tf'), 'utf8');
    expect(text).toMatch(/\n {4}statement \{\n {6}managed_rule_group_statement \{/);
    expect(text).not.toContain('[object Object]');
  });
});

describe.each(stacks)('%s', (stack) => {
  it('carries the stack’s assets (the bundle archive) next to the HCL', () => {
    const jsonAssets = join(jsonOut, 'stacks', stack, 'assets');
    const hclAssets = join(hclOut, 'stacks', stack, 'assets');
    expect(existsSync(hclAssets)).toBe(existsSync(jsonAssets));
  });

  it('validates and plans in JSON and HCL', () => {
    expect(json.get(stack)?.validate.valid).toBe(true);
    expect(hcl.get(stack)?.validate.valid).toBe(true);
  });

  it('plans identically from JSON and HCL', () => {
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
    expect(rule.change.after_unknown).toMatchObject({ condition: [{ http_header: [{ values: true }] }] });
    const distribution = plan.resources('aws_cloudfront_distribution')[0].change.after as Record<string, unknown>;
    expect(distribution).toMatchObject({ http_version: 'http2and3', is_ipv6_enabled: true });
  });
});
