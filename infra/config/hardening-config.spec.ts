// Config rules that keep an environment's edge and backups safe: a domain (HTTPS to the origin),
// CloudFront's prefix list for the region, and a backup copy that lands somewhere else.
import { ENVIRONMENTS, type EnvironmentConfig } from './environments';
import { environmentProblems, validateEnvironments } from './validate';
import { cloudFrontPrefixListId } from './cloudfront-prefix-lists';

const staging = ENVIRONMENTS.staging;
const production = ENVIRONMENTS.production;
const problems = (env: EnvironmentConfig) => environmentProblems(env);

describe('environment config: hardening rules', () => {
  it('ships every environment with a domain and a known prefix list', () => {
    expect(() => validateEnvironments(ENVIRONMENTS)).not.toThrow();
    for (const env of Object.values(ENVIRONMENTS)) {
      expect(env.domain).toBeDefined();
      expect(cloudFrontPrefixListId(env.region, env.edge?.originPrefixListId)).toMatch(/^pl-/);
    }
  });

  it('refuses production without a domain, naming the field', () => {
    expect(problems({ ...production, domain: undefined })).toContain(
      'environment "production": domain: required in a production environment: without a certificate for the ALB, CloudFront reaches it over plain HTTP',
    );
    expect(problems({ ...production, domain: undefined, edge: { plainHttpOrigin: true } })).toEqual(
      expect.arrayContaining([
        expect.stringContaining('domain: required in a production environment'),
        'environment "production": edge.plainHttpOrigin: must not be set in a production environment',
      ]),
    );
  });

  it('accepts a non-production environment without a domain only when it says so', () => {
    expect(problems({ ...staging, domain: undefined })).toEqual([
      expect.stringMatching(/^environment "staging": domain: required for HTTPS .* edge\.plainHttpOrigin: true$/),
    ]);
    expect(problems({ ...staging, domain: undefined, edge: { plainHttpOrigin: true } })).toEqual([]);
  });

  it('needs a prefix list id for regions the table does not know', () => {
    const elsewhere = {
      ...staging,
      region: 'mx-central-1',
      availabilityZones: ['mx-central-1a', 'mx-central-1b', 'mx-central-1c'],
      image: { amiId: 'ami-0123456789abcdef0' },
    };
    expect(problems(elsewhere)).toEqual([expect.stringContaining('edge.originPrefixListId: no CloudFront')]);
    expect(problems({ ...elsewhere, edge: { originPrefixListId: 'pl-0123abcd' } })).toEqual([]);
    expect(problems({ ...staging, edge: { originPrefixListId: 'sg-123' } })).toEqual([
      'environment "staging": edge.originPrefixListId: "sg-123" is not a managed prefix list id',
    ]);
  });

  it('copies backups only to a vault in another region or account', () => {
    const copy = (arn: string) => problems({ ...production, backup: { copyToVaultArn: arn } });
    expect(copy('arn:aws:backup:eu-west-1:222222222222:backup-vault:cyphr-production-copy')).toEqual([]);
    expect(copy('arn:aws:backup:eu-central-1:333333333333:backup-vault:cyphr-production-copy')).toEqual([]);
    expect(copy('arn:aws:backup:eu-central-1:222222222222:backup-vault:beside')).toEqual([
      expect.stringContaining('backup.copyToVaultArn: must be in another region or another account'),
    ]);
    expect(copy('vault')).toEqual([expect.stringContaining('is not a backup vault ARN')]);
  });

  it('locks a vault only where the stack is deletion-protected', () => {
    expect(problems({ ...staging, backup: { vaultLock: true } })).toEqual([
      expect.stringContaining('backup.vaultLock: needs deletionProtection'),
    ]);
    expect(problems({ ...production, backup: { vaultLock: true } })).toEqual([]);
  });

  it('bounds the auth rate limit like WAF does', () => {
    expect(problems({ ...staging, edge: { authRateLimitPer5Minutes: 5 } })).toEqual([
      expect.stringContaining('edge.authRateLimitPer5Minutes: must be an integer from 10'),
    ]);
  });
});
