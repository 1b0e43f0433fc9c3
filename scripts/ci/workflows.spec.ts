// The GitHub Actions workflows cannot run here; their structure is checked instead. YAML is parsed
// by python3's yaml module when present (no YAML library in node_modules), else checked as text.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, any>;

const DIR = join(__dirname, '..', '..', '.github', 'workflows');
const text = (name: string) => readFileSync(join(DIR, name), 'utf8');

function parse(name: string): Json | undefined {
  try {
    const out = execFileSync(
      'python3',
      [
        '-c',
        'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])), default=str))',
        join(DIR, name),
      ],
      { stdio: 'pipe' },
    );
    const doc = JSON.parse(out.toString()) as Json;
    // YAML 1.1 reads the key `on` as true.
    return { ...doc, on: doc.on ?? doc.true };
  } catch {
    return undefined;
  }
}

const steps = (job: Json) => (job.steps as Json[]).map((s) => String(s.uses ?? s.run));

describe('GitHub workflows', () => {
  it('are plain YAML with two-space indentation and no tabs', () => {
    for (const name of ['ci.yml', 'deploy.yml', 'apply.yml']) {
      expect(text(name)).not.toMatch(/\t/);
      expect(text(name)).toMatch(/^name: \w+\n/m);
    }
  });

  const ci = parse('ci.yml');
  const deploy = parse('deploy.yml');
  const apply = parse('apply.yml');
  const yamlIt = ci ? it : it.skip;

  yamlIt('ci: pull requests run the tests, synth JSON and HCL, and plan every stack, without AWS credentials', () => {
    expect(Object.keys(ci?.on)).toContain('pull_request');
    expect(ci?.permissions).toEqual({ contents: 'read' });
    const s = steps(ci?.jobs.test);
    expect(s.join('\n')).toMatch(/providers mirror[\s\S]*CYPHR_TF_PROVIDER_MIRROR/);
    expect(s).toEqual(expect.arrayContaining(['bash .ci/run', 'npm run synth:hcl']));
    expect(s.some((x) => x.includes('scripts/terraform/plan.ts cdktf.out/stacks/*'))).toBe(true);
    expect(text('ci.yml')).not.toContain('configure-aws-credentials');
  });

  yamlIt('deploy: main builds the bundle, synthesizes, then applies staging before production', () => {
    expect(deploy?.on.push.branches).toEqual(['main']);
    expect(steps(deploy?.jobs.build)).toEqual(expect.arrayContaining(['npm run package', 'npm run synth']));
    expect(deploy?.jobs.staging).toMatchObject({
      needs: 'build',
      uses: './.github/workflows/apply.yml',
      with: { environment: 'staging' },
      permissions: { 'id-token': 'write' },
    });
    expect(deploy?.jobs.production).toMatchObject({ needs: 'staging', with: { environment: 'production' } });
    expect(deploy?.concurrency).toMatchObject({ 'cancel-in-progress': false });
  });

  yamlIt(
    'apply: runs in the GitHub environment, assumes the OIDC role, requires remote state, applies the saved plan',
    () => {
      const job = apply?.jobs.apply;
      expect(apply?.on.workflow_call.inputs.environment.required).toBe(true);
      expect(job.environment).toBe('${{ inputs.environment }}');
      const creds = (job.steps as Json[]).find((x) =>
        String(x.uses).startsWith('aws-actions/configure-aws-credentials'),
      );
      expect(creds?.with['role-to-assume']).toBe('${{ vars.AWS_DEPLOY_ROLE_ARN }}');
      const s = steps(job).join('\n');
      expect(s.indexOf('has no stateBackend')).toBeLessThan(s.indexOf('init -input=false'));
      expect(s).toMatch(/plan -input=false -out=plan.bin[\s\S]*apply -input=false plan.bin/);
    },
  );
});
