// Picks the environments to synthesize: CYPHR_ENVIRONMENTS=staging,production or cdktf context
// `environments`; CYPHR_TIER (or context `tier`) overrides every selected environment's tier.
import { ENVIRONMENTS, type EnvironmentConfig } from './environments';
import { TIERS, type TierName, type TierSpec } from './tiers';
import { ConfigError, validateEnvironments } from './validate';

export * from './environments';
export * from './cloudfront-prefix-lists';
export * from './tiers';
export * from './validate';

export interface ResolvedEnvironment {
  config: EnvironmentConfig;
  tier: TierSpec;
  /** Stack id: cyphr-<env>, or cyphr-<env>-<tier> when the tier is overridden. */
  stackName: string;
}

export interface Selection {
  /** Environment names; all when empty. */
  names?: string[];
  /** Overrides the tier of every selected environment. */
  tier?: string;
  /** The table to choose from. @default ENVIRONMENTS */
  environments?: Record<string, EnvironmentConfig>;
}

export function parseList(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  const cleaned = items.map((s) => s.trim()).filter(Boolean);
  return cleaned.length ? cleaned : undefined;
}

export function resolveEnvironments(selection: Selection = {}): ResolvedEnvironment[] {
  const table = selection.environments ?? ENVIRONMENTS;
  const names = selection.names ?? Object.keys(table);
  const unknown = names.filter((n) => !table[n]);
  if (unknown.length) {
    throw new ConfigError(
      unknown.map((n) => `environment "${n}": not defined (known: ${Object.keys(table).join(', ')})`),
    );
  }
  const chosen = Object.fromEntries(
    names.map((n) => [n, selection.tier ? { ...table[n], tier: selection.tier as TierName } : table[n]]),
  );
  // Cross-environment rules (CIDR overlap) look at the whole table, not only the selection.
  validateEnvironments({ ...table, ...chosen });
  return names.map((n) => ({
    config: chosen[n],
    tier: TIERS[chosen[n].tier],
    stackName: selection.tier ? `cyphr-${n}-${selection.tier}` : `cyphr-${n}`,
  }));
}
