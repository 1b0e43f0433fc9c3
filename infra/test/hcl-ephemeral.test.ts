// The HCL renderer on what cdktf has no construct for: an ephemeral password handed to write-only
// arguments (directly and inside jsonencode()). The JSON fixture and its HCL rendering are validated and
// planned by the real terraform; the ephemeral resource calls GetRandomPassword during plan, answered by
// the local Secrets Manager stand-in. Both plans must be identical and hold no password.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planStacks, type PlanResult } from '../../scripts/terraform/harness';
import { renderHclFiles } from '../../scripts/terraform/hcl/render';
import { loadProviderShapes } from '../../scripts/terraform/hcl/schema';
import { comparablePlan, differences } from '../../scripts/terraform/hcl/compare';
import { EPHEMERAL_FIXTURE } from '../../scripts/terraform/hcl/fixtures';
import { SecretsManagerStandIn } from '../../scripts/testing/aws/secrets-manager';

jest.setTimeout(600_000);

const work = mkdtempSync(join(tmpdir(), 'cyphr-hcl-ephemeral-'));
let secretsManager: SecretsManagerStandIn;
let json: PlanResult;
let hcl: PlanResult;

beforeAll(async () => {
  secretsManager = await SecretsManagerStandIn.start({ region: 'eu-central-1' });
  const doc = {
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
    provider: { aws: [{ region: 'eu-central-1', endpoints: [{ secretsmanager: secretsManager.url }] }] },
    ...EPHEMERAL_FIXTURE,
  };
  const jsonDir = join(work, 'json');
  const hclDir = join(work, 'hcl');
  mkdirSync(jsonDir);
  mkdirSync(hclDir);
  writeFileSync(join(jsonDir, 'main.tf.json'), JSON.stringify(doc, null, 2));
  for (const [file, text] of Object.entries(renderHclFiles(doc, loadProviderShapes())))
    writeFileSync(join(hclDir, file), text);
  const results = await planStacks([jsonDir, hclDir], { concurrency: 2, secretsManagerEndpoint: secretsManager.url });
  json = results.get(jsonDir) as PlanResult;
  hcl = results.get(hclDir) as PlanResult;
});

afterAll(async () => {
  await secretsManager?.close();
  rmSync(work, { recursive: true, force: true });
});

it('validates and plans the rendered ephemeral block and write-only arguments', () => {
  expect(hcl.validate.valid).toBe(true);
  expect(hcl.createCount()).toBe(3);
  // Once per plan (JSON and HCL): the password is made during the run.
  expect(secretsManager.calls.filter((c) => c.action === 'GetRandomPassword').length).toBeGreaterThanOrEqual(2);
});

it('plans identically from JSON and HCL', () => {
  expect(differences(comparablePlan(json.plan), comparablePlan(hcl.plan))).toEqual([]);
});

it('keeps the password out of the plan: write-only values are not planned', () => {
  for (const plan of [json, hcl]) {
    const db = plan.after('aws_db_instance.database_primary');
    expect(db.password_wo ?? null).toBeNull();
    expect(db.password_wo_version).toBe(1);
    const value = plan.after('aws_secretsmanager_secret_version.database_master_secret_value');
    expect(value.secret_string_wo ?? null).toBeNull();
    expect(value.secret_string ?? null).toBeNull();
  }
});
