// Plan equivalence of two renderings (JSON and HCL) of one stack: same resource addresses, same
// actions, same planned values and the same unknown-until-apply attributes, same outputs.
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
