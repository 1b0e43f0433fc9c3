// The GitHub workflows against the deploy role's trust: third-party actions are pinned by commit (a moved
// tag cannot change what runs with the deploy role's credentials), and the only job that asks for AWS
// credentials is the workflow the OIDC trust names, reached from main.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOY_WORKFLOW } from './ci-deploy-role';

const ROOT = join(__dirname, '..', '..');
const WORKFLOWS = join(ROOT, '.github', 'workflows');
const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const read = (file: string) => readFileSync(join(WORKFLOWS, file), 'utf8');

describe('GitHub workflows', () => {
  it.each(files)('%s pins every third-party action by commit, with its tag in a comment', (file) => {
    const uses = [...read(file).matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)].map((m) => ({ ref: m[1], rest: m[2] }));
    for (const { ref, rest } of uses.filter((u) => !u.ref.startsWith('./'))) {
      expect(`${ref}${rest}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}$/);
    }
  });

  it('asks for AWS credentials only in the workflow the deploy role trusts', () => {
    const assuming = files.filter((f) => read(f).includes('aws-actions/configure-aws-credentials@'));
    expect(assuming.map((f) => `.github/workflows/${f}`)).toEqual([DEPLOY_WORKFLOW.path]);
    expect(read(DEPLOY_WORKFLOW.path.split('/').pop()!)).toMatch(/^on:\n {2}workflow_call:/m);
  });

  it('reaches that workflow from the deploy workflow, which runs on pushes to main', () => {
    const callers = files.filter((f) => read(f).includes(`uses: ./${DEPLOY_WORKFLOW.path}`));
    expect(callers).toEqual(['deploy.yml']);
    expect(read('deploy.yml')).toMatch(/^on:\n {2}push:\n {4}branches: \[main\]$/m);
    expect(DEPLOY_WORKFLOW.ref).toBe('refs/heads/main');
  });

  it('grants an OIDC token only to the jobs that apply', () => {
    for (const file of files) {
      const text = read(file);
      if (!text.includes('id-token: write')) continue;
      expect(['apply.yml', 'deploy.yml']).toContain(file);
    }
  });
});
