// Validation of the edge and operations fields of an environment (issue 4).
import { ENVIRONMENTS, edgeOriginName, environmentProblems, type EnvironmentConfig } from '.';

const base = ENVIRONMENTS.staging;
const problems = (patch: Partial<EnvironmentConfig>) => environmentProblems({ ...base, ...patch });

describe('edge and operations config', () => {
  it('accepts the shipped environments', () => {
    for (const env of Object.values(ENVIRONMENTS)) expect(environmentProblems(env)).toEqual([]);
  });

  it.each([
    [{ edge: { rateLimitPer5Minutes: 5 } }, 'edge.rateLimitPer5Minutes: must be an integer from 10'],
    [{ edge: { originSecretGeneration: 0 } }, 'edge.originSecretGeneration: must be a positive integer'],
    [{ backup: { retentionDays: 0 } }, 'backup.retentionDays: must be 1-36500 days'],
    [
      { backup: { schedule: 'every 6 hours' } },
      'backup.schedule: "every 6 hours" is not a cron(...) or rate(...) expression',
    ],
    [{ ci: { githubRepository: 'just-a-name' } }, 'ci.githubRepository: must be owner/name'],
    [
      { ci: { githubRepository: 'o/r', existingOidcProviderArn: 'arn:aws:iam::1:oidc-provider/example.com' } },
      'ci.existingOidcProviderArn',
    ],
    [
      { stateBackend: { bucket: 'Bad_Bucket', region: 'eu-central-1' } },
      'stateBackend.bucket: "Bad_Bucket" is not an S3 bucket name',
    ],
    [
      { stateBackend: { bucket: 'state', region: 'europe' } },
      'stateBackend.region: "europe" is not an AWS region name',
    ],
  ] as [Partial<EnvironmentConfig>, string][])('rejects %j naming the field', (patch, message) => {
    expect(problems(patch)).toEqual([expect.stringContaining(`environment "staging": ${message}`)]);
  });

  it('puts the ALB at origin.<domain>, in the same zone', () => {
    expect(edgeOriginName({ name: 'api.example.com', hostedZoneId: 'Z1' })).toEqual({
      name: 'origin.api.example.com',
      hostedZoneId: 'Z1',
    });
  });
});
