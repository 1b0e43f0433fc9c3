// A role's env file as the boot test writes it: the synthesized one with references resolved, plus the test's
// own settings from one named list. Anything else differing from what the stack writes fails the test.
import { parseEnvFile } from '../../../common/config/local-env-file';

/** Everything the boot test adds to or replaces in an env file the stack wrote, and why. */
export const TEST_SETTINGS = {
  /** The stand-ins, reached through the SDK's and Node's own settings (on EC2 these are the real endpoints). */
  standIns: [
    'AWS_EC2_METADATA_SERVICE_ENDPOINT',
    'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    'AWS_ENDPOINT_URL_SQS',
    // The ElastiCache stand-in's CA, standing in for Amazon's public root that Node already trusts.
    'NODE_EXTRA_CA_CERTS',
  ],
  /**
   * Several "instances" share one host here; on EC2 each has its own. PORT in the env file; the metrics ports the
   * units set per process (948<n>, 947<n>) through a drop-in, as two instances' processes 0 would collide here.
   */
  perProcess: ['PORT', 'METRICS_PORT', 'WORKER_METRICS_PORT'],
  /** Every test client is 127.0.0.1, and a test does not wait minutes for a refresh or a visibility timeout. */
  tuning: [
    'RATE_LIMITS',
    'JWT_KEYS_REFRESH_SECONDS',
    'WORKER_WAIT_TIME_SECONDS',
    'WORKER_VISIBILITY_TIMEOUT_SECONDS',
    'WORKER_SHUTDOWN_TIMEOUT_MS',
  ],
} as const;

export type TestSetting = (typeof TEST_SETTINGS)[keyof typeof TEST_SETTINGS][number];
const ALLOWED = new Set<string>(Object.values(TEST_SETTINGS).flat());

/** The env file text: the synthesized lines in order (test settings replacing theirs), then the added ones. */
export function withTestSettings(synthesized: string, settings: Partial<Record<TestSetting, string>>): string {
  const pending = new Map(Object.entries(settings).filter(([, v]) => v !== undefined) as [string, string][]);
  for (const key of pending.keys()) if (!ALLOWED.has(key)) throw new Error(`${key} is not a named test setting`);
  const lines = synthesized
    .trimEnd()
    .split('\n')
    .map((line) => {
      const key = line.slice(0, line.indexOf('='));
      if (!pending.has(key)) return line;
      const replaced = `${key}=${pending.get(key)}`;
      pending.delete(key);
      return replaced;
    });
  for (const [key, value] of pending) lines.push(`${key}=${value}`);
  return `${lines.join('\n')}\n`;
}

/** Keys whose value differs between what the stack wrote (resolved) and what the test ran, or that are missing. */
export function differences(synthesized: string, ran: string): { changed: string[]; removed: string[] } {
  const before = parseEnvFile(synthesized);
  const after = parseEnvFile(ran);
  return {
    changed: Object.keys(after).filter((key) => before[key] !== after[key]),
    removed: Object.keys(before).filter((key) => !(key in after)),
  };
}

export function isTestSetting(key: string): boolean {
  return ALLOWED.has(key);
}
