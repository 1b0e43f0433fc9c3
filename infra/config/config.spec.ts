// Config is validated before any construct exists; every message names environment and field.
import { ConfigError, ENVIRONMENTS, resolveEnvironments, TIERS, type EnvironmentConfig } from '.';
import { cidrsOverlap, parseCidr, subnetOf } from './cidr';

const staging = ENVIRONMENTS.staging;

function problemsOf(envs: Record<string, EnvironmentConfig>, names?: string[]): string[] {
  try {
    resolveEnvironments({ environments: envs, names });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('config', () => {
  it('accepts the shipped environments and resolves their tiers', () => {
    const resolved = resolveEnvironments();
    expect(resolved.map((r) => r.stackName)).toEqual(['cyphr-staging', 'cyphr-production']);
    expect(resolved[1].tier).toBe(TIERS.medium);
  });

  // The plan's phase 3 said min 2 / max 10 / desired 3; min stays, max and desired come from the capacity model
  // (bench/capacity-update.spec.ts checks them against it).
  it('keeps the plan phase 3 minimum for the 10K tier', () => {
    expect(TIERS.medium.api.min).toBe(2);
    expect(TIERS.medium.api.desired).toBeLessThanOrEqual(TIERS.medium.api.max);
    expect(TIERS.medium.database.replicas).toBe(2);
    expect(TIERS.large.cache.shards).toBeGreaterThan(1);
  });

  it('overrides the tier for every selected environment and names the stack after it', () => {
    const [r] = resolveEnvironments({ names: ['staging'], tier: 'large' });
    expect(r.stackName).toBe('cyphr-staging-large');
    expect(r.tier).toBe(TIERS.large);
  });

  it('rejects an unknown tier, naming environment and field', () => {
    expect(problemsOf({ staging: { ...staging, tier: 'huge' as never } })).toEqual([
      'environment "staging": tier: unknown tier "huge" (known: small, medium, large)',
    ]);
    expect(() => resolveEnvironments({ names: ['staging'], tier: 'xl' })).toThrow(
      /environment "staging": tier: unknown tier "xl"/,
    );
  });

  it('rejects two AZs where three are needed', () => {
    const problems = problemsOf({ staging: { ...staging, availabilityZones: ['eu-central-1a', 'eu-central-1b'] } });
    expect(problems).toEqual([
      expect.stringMatching(/^environment "staging": availabilityZones: needs exactly 3 distinct/),
    ]);
  });

  it('rejects AZs of another region', () => {
    const problems = problemsOf({
      staging: { ...staging, availabilityZones: ['us-east-1a', 'eu-central-1b', 'eu-central-1c'] },
    });
    expect(problems).toEqual([expect.stringMatching(/availabilityZones: every zone must be in region eu-central-1/)]);
  });

  it('rejects overlapping VPC CIDRs between environments', () => {
    const problems = problemsOf({ staging, production: { ...ENVIRONMENTS.production, vpcCidr: '10.20.128.0/17' } });
    expect(problems).toEqual([
      'environment "production": vpcCidr: 10.20.128.0/17 overlaps environment "staging" (10.20.0.0/16)',
    ]);
  });

  it('collects every problem before failing', () => {
    const bad = {
      ...staging,
      accountId: '123',
      vpcCidr: '10.0.0.1/16',
      logRetentionDays: 42,
      image: { amiId: 'image' },
      domain: { name: 'Not A Host', hostedZoneId: 'zone' },
    };
    const problems = problemsOf({ staging: bad });
    expect(problems.map((p) => p.split(':')[1].trim())).toEqual([
      'accountId',
      'vpcCidr',
      'image.amiId',
      'logRetentionDays',
      'domain.name',
      'domain.hostedZoneId',
    ]);
    expect(problems.every((p) => p.startsWith('environment "staging": '))).toBe(true);
  });

  it('takes push as log or an https webhook, naming the field otherwise', () => {
    const withPush = (push: unknown) => problemsOf({ staging: { ...staging, push } as EnvironmentConfig });
    expect(withPush({ provider: 'log' })).toEqual([]);
    expect(withPush({ provider: 'webhook', url: 'https://push.example.com/wake' })).toEqual([]);
    expect(withPush({ provider: 'pigeon' })).toEqual([
      'environment "staging": push.provider: must be one of log, webhook, got "pigeon"',
    ]);
    expect(withPush({ provider: 'webhook' })).toEqual([
      'environment "staging": push.url: is required when push.provider is "webhook"',
    ]);
    expect(withPush({ provider: 'webhook', url: 'http://push.example.com/wake' })).toEqual([
      'environment "staging": push.url: must be https, got "http://push.example.com/wake"',
    ]);
    expect(withPush({ provider: 'webhook', url: 'https://127.0.0.1/wake' })).toEqual([
      'environment "staging": push.url: needs a host name, got "127.0.0.1"',
    ]);
    expect(withPush({ provider: 'log', url: 'https://push.example.com/wake' })).toEqual([
      'environment "staging": push.url: only a webhook has a URL: set push.provider to "webhook" or drop the URL',
    ]);
  });

  it('insists on deletion protection and Multi-AZ in production', () => {
    const problems = problemsOf({
      production: { ...ENVIRONMENTS.production, deletionProtection: false, multiAzDatabase: false },
    });
    expect(problems).toEqual([
      'environment "production": deletionProtection: must be true in a production environment',
      'environment "production": multiAzDatabase: must not be false in a production environment',
    ]);
  });

  it('takes a secret recovery window of 0 (delete at once) or 7-30 days', () => {
    expect(problemsOf({ staging: { ...staging, secretRecoveryWindowDays: 0 } })).toEqual([]);
    expect(problemsOf({ staging: { ...staging, secretRecoveryWindowDays: 30 } })).toEqual([]);
    expect(problemsOf({ staging: { ...staging, secretRecoveryWindowDays: 3 } })).toEqual([
      'environment "staging": secretRecoveryWindowDays: must be 0 (delete at once) or 7-30 days, got 3',
    ]);
  });

  it('rejects an environment that is not defined', () => {
    expect(() => resolveEnvironments({ names: ['qa'] })).toThrow(
      'environment "qa": not defined (known: staging, production)',
    );
  });

  it('lets a new environment in by data alone', () => {
    // Its own account: one sharing staging's would have to share its GitHub OIDC provider (oidc-provider.spec.ts).
    const dev: EnvironmentConfig = { ...staging, name: 'dev', accountId: '333333333333', vpcCidr: '10.40.0.0/20' };
    const [r] = resolveEnvironments({ environments: { ...ENVIRONMENTS, dev }, names: ['dev'] });
    expect(r.stackName).toBe('cyphr-dev');
  });
});

describe('cidr', () => {
  it('carves subnets like terraform cidrsubnet', () => {
    expect(subnetOf('10.20.0.0/16', 4, 0)).toBe('10.20.0.0/20');
    expect(subnetOf('10.20.0.0/16', 4, 10)).toBe('10.20.160.0/20');
    expect(subnetOf('10.40.0.0/20', 4, 8)).toBe('10.40.8.0/24');
  });

  it('parses, rejects host bits, and finds overlaps', () => {
    expect(parseCidr('10.0.0.0/16')).toEqual({ network: 10 * 2 ** 24, prefix: 16 });
    expect(parseCidr('10.0.0.1/16')).toBeUndefined();
    expect(parseCidr('300.0.0.0/8')).toBeUndefined();
    expect(cidrsOverlap('10.0.0.0/16', '10.0.255.0/24')).toBe(true);
    expect(cidrsOverlap('10.0.0.0/16', '10.1.0.0/16')).toBe(false);
  });
});
