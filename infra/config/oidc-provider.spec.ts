// One GitHub OIDC provider per account: environments sharing an account agree on who creates it.
import { ENVIRONMENTS, type EnvironmentConfig } from '.';
import { ConfigError, validateEnvironments } from './validate';

const staging = ENVIRONMENTS.staging;
const production = ENVIRONMENTS.production;
const ARN = `arn:aws:iam::${production.accountId}:oidc-provider/token.actions.githubusercontent.com`;
/** Staging moved into production's account (its own VPC range already). */
const sharedStaging = (ci: EnvironmentConfig['ci']): EnvironmentConfig => ({
  ...staging,
  accountId: production.accountId,
  ci,
});

const problems = (envs: Record<string, EnvironmentConfig>) => {
  try {
    validateEnvironments(envs);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('GitHub OIDC provider across environments', () => {
  it('environments in different accounts each create their own', () => {
    expect(problems(ENVIRONMENTS)).toEqual([]);
  });

  it('two environments in one account may not both create it', () => {
    expect(problems({ staging: sharedStaging({ githubRepository: 'o/r' }), production })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(
            `environment "(staging|production)": ci\\.existingOidcProviderArn: .* set this to ${ARN.replace(/[.]/g, '\\.')}`,
          ),
        ),
      ]),
    );
  });

  it('the protected environment creates it, the disposable one references it', () => {
    expect(
      problems({ staging: sharedStaging({ githubRepository: 'o/r', existingOidcProviderArn: ARN }), production }),
    ).toEqual([]);
  });

  it('an unprotected creator others depend on is refused', () => {
    const productionReferencing = { ...production, ci: { githubRepository: 'o/r', existingOidcProviderArn: ARN } };
    expect(
      problems({ staging: sharedStaging({ githubRepository: 'o/r' }), production: productionReferencing }),
    ).toEqual([expect.stringMatching(/environment "staging": ci\.existingOidcProviderArn: .* no deletion protection/)]);
  });

  it("a referenced provider must be in the environment's own account", () => {
    const other = `arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com`;
    expect(
      problems({ staging: { ...staging, ci: { githubRepository: 'o/r', existingOidcProviderArn: other } } }),
    ).toEqual([expect.stringMatching(/environment "staging": ci\.existingOidcProviderArn: .* in another account/)]);
  });
});
