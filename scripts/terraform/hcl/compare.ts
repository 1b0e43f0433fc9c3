// Plan equivalence of two renderings (JSON and HCL) of one stack: same resource addresses, same
// actions, same planned values and the same unknown-until-apply attributes, same outputs.
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TerraformPlan } from '../harness';

/** The comparable part of a plan, keyed by address. */
export function comparablePlan(plan: TerraformPlan): Record<string, unknown> {
  const resources = Object.fromEntries(
    (plan.resource_changes ?? []).map((r) => [
      r.address,
      { actions: r.change.actions, after: r.change.after, after_unknown: r.change.after_unknown ?? {} },
    ]),
  );
  const outputs =
    (plan as { output_changes?: Record<string, { actions: string[]; after?: unknown; after_unknown?: unknown }> })
      .output_changes ?? {};
  return { resources, outputs };
}

/** Paths where `a` and `b` differ (empty when equal), at most `limit` of them. */
export function differences(a: unknown, b: unknown, path = '', limit = 20, out: string[] = []): string[] {
  if (out.length >= limit) return out;
  if (a === b) return out;
  const bothObjects = a && b && typeof a === 'object' && typeof b === 'object';
  if (!bothObjects || Array.isArray(a) !== Array.isArray(b)) {
    out.push(`${path || '<root>'}: ${JSON.stringify(a)?.slice(0, 200)} != ${JSON.stringify(b)?.slice(0, 200)}`);
    return out;
  }
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of keys)
    differences(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      `${path}${Array.isArray(a) ? `[${k}]` : `.${k}`}`,
      limit,
      out,
    );
  return out;
}

/** Provider arguments the harness drops from JSON copies (they need real credentials or the account id). */
const CREDENTIAL_ARGUMENTS =
  /^\s*(allowed_account_ids|forbidden_account_ids|profile|shared_config_files|shared_credentials_files|token)\s*=.*$/;

/**
 * A copy of an HCL stack with the same provider arguments removed that the harness removes from
 * JSON stacks, so the two plans start from the same provider settings.
 */
export function hclPlanCopy(hclDir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'cyphr-hcl-plan-'));
  cpSync(hclDir, copy, { recursive: true });
  for (const file of readdirSync(copy).filter((f) => f.endsWith('.tf'))) {
    const lines = readFileSync(join(copy, file), 'utf8').split('\n');
    let inProvider = false;
    const kept = lines.filter((line) => {
      if (/^provider\s+"aws"\s*\{/.test(line)) inProvider = true;
      else if (line === '}') inProvider = false;
      return !(inProvider && CREDENTIAL_ARGUMENTS.test(line));
    });
    writeFileSync(join(copy, file), kept.join('\n'));
  }
  return copy;
}
