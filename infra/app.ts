// Synthesizes one stack per selected environment (infra/config). Selection:
//   CYPHR_ENVIRONMENTS=staging,production   or cdktf context `environments`
//   CYPHR_TIER=large                        or cdktf context `tier` (overrides every selected environment's tier)
import { App } from 'cdktf';
import { parseList, resolveEnvironments, type Selection } from './config';
import { CyphrStack } from './stack';

export function selectionFrom(app: App, env: NodeJS.ProcessEnv = process.env): Selection {
  const context = (key: string) => app.node.tryGetContext(key) as unknown;
  const tier = env.CYPHR_TIER || (context('tier') as string | undefined) || undefined;
  return { names: parseList(env.CYPHR_ENVIRONMENTS) ?? parseList(context('environments')), tier };
}

/** Validates the whole config first (throws ConfigError naming environment and field), then builds the stacks. */
export function synthesizeEnvironments(app: App, selection: Selection = selectionFrom(app)): CyphrStack[] {
  return resolveEnvironments(selection).map(
    ({ config, tier, stackName }) => new CyphrStack(app, stackName, { environment: config, tier }),
  );
}
