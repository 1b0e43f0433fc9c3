// The apply workflow asks for the session the deploy role allows, and neither ends before an apply that
// bakes an AMI can: the workflow file and the stack are checked against each other.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_BUILD_TIMEOUT_MINUTES } from '../constructs/image';
import { APPLY_MARGIN_MINUTES, DEPLOY_SESSION_SECONDS } from './ci-deploy-role';

const workflow = readFileSync(join(__dirname, '../../.github/workflows/apply.yml'), 'utf8');
const number = (key: string) => {
  const values = [...workflow.matchAll(new RegExp(`^\\s+${key}: (\\d+)$`, 'gm'))].map((m) => Number(m[1]));
  if (values.length !== 1) throw new Error(`expected one ${key} in apply.yml, found ${values.length}`);
  return values[0];
};

describe('deploy session', () => {
  it('covers the image build timeout plus the rest of an apply', () => {
    expect(DEPLOY_SESSION_SECONDS).toBeGreaterThanOrEqual((IMAGE_BUILD_TIMEOUT_MINUTES + APPLY_MARGIN_MINUTES) * 60);
  });

  it('apply.yml asks configure-aws-credentials for exactly the role session', () => {
    expect(number('role-duration-seconds')).toBe(DEPLOY_SESSION_SECONDS);
  });

  it('the apply job may run as long as an apply takes, and not longer than its credentials last', () => {
    const jobMinutes = number('timeout-minutes');
    expect(jobMinutes).toBeGreaterThanOrEqual(IMAGE_BUILD_TIMEOUT_MINUTES + APPLY_MARGIN_MINUTES);
    expect(jobMinutes * 60).toBeLessThanOrEqual(DEPLOY_SESSION_SECONDS);
  });
});
