import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { ENVIRONMENTS } from '../../infra/config';
import { KERNEL_SETTINGS } from '../../infra/constructs/image-component';
import { imageNodeMajor, nodeRuntime } from './support/node-runtime';
import { inOwnNetworkNamespace } from './support/network-namespace';
import type { HandoverResult } from './support/port-handover';

/**
 * When one of an instance's API processes stops, the connections the kernel had already queued on its listener go
 * to its sibling, with the kernel setting the image bakes in (KERNEL_SETTINGS), and are reset without it. Both runs
 * happen in a network namespace of their own (a user namespace makes that possible without root), so the setting is
 * theirs alone; the processes are the API's listener and drain without Nest (support/port-handover.ts), on the
 * image's Node.js.
 */
const ROOT = resolve(__dirname, '..', '..');
const SETTING = 'net.ipv4.tcp_migrate_req';

function handover(value: string): HandoverResult {
  const node = nodeRuntime(ROOT, imageNodeMajor(ENVIRONMENTS.production));
  let output: string;
  try {
    output = execFileSync(
      'unshare',
      inOwnNetworkNamespace(node, join(__dirname, 'support', 'port-handover.ts'), value),
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    throw new Error(
      `the hand-over run failed (it needs unshare, ip and user namespaces; README Prerequisites): ${stderr || String(error)}`,
    );
  }
  return JSON.parse(output.trim().split('\n').pop()!) as HandoverResult;
}

describe('an API process stopping on the shared port', () => {
  it(`hands its queued connections to its sibling with the image's ${SETTING}: no client sees a reset`, () => {
    expect(KERNEL_SETTINGS[SETTING]).toBe('1');
    const result = handover(KERNEL_SETTINGS[SETTING]);
    process.stdout.write(`port hand-over with ${SETTING}=1: ${JSON.stringify(result)}\n`);
    expect(result.stoppedExitCode).toBe(0);
    // Both processes served, so the stopping one had connections coming to it.
    expect(Object.values(result.servedBy)).toHaveLength(2);
    expect(Object.values(result.servedBy).every((count) => count > 20)).toBe(true);
    expect({ resets: result.resets, otherErrors: result.otherErrors }).toEqual({ resets: 0, otherErrors: {} });
  });

  it('resets some of them without it (the test can see what the setting prevents)', () => {
    const result = handover('0');
    process.stdout.write(`port hand-over with ${SETTING}=0: ${JSON.stringify(result)}\n`);
    expect(result.stoppedExitCode).toBe(0);
    expect(result.resets).toBeGreaterThan(0);
  });
});
