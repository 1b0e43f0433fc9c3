// The env file each role's instances get, read from a synthesized stack the way an instance gets it: the launch
// template's user data (infra/user-data-env.ts reads it back), with Terraform's references resolved to local
// stand-ins and nothing else, so what the boot test runs is what the stack writes.
import { Testing } from 'cdktf';
import type { EnvironmentConfig, TierSpec } from '../../../infra/config';
import { CyphrStack } from '../../../infra/stack';
import { roleEnvFiles, userDataScriptOf } from '../../../infra/user-data-env';

export type Role = 'api' | 'worker';

type Resources = Record<string, Record<string, Record<string, unknown>>>;
export interface SynthesizedStack {
  resource: Resources;
}

/** Synthesizes the stack in-process (with the policy aspect, as every shipped stack is). */
export function synthesizeStack(environment: EnvironmentConfig, tier: TierSpec): SynthesizedStack {
  const stack = new CyphrStack(Testing.app(), 'boot', { environment, tier, imageId: 'ami-0boottest0000000' });
  return JSON.parse(Testing.synth(stack, true)) as SynthesizedStack;
}

/** `aws_db_instance.database_primary.address` → its parts; `master_user_secret[0].secret_arn` stays one attribute. */
export interface Reference {
  text: string;
  type: string;
  name: string;
  attribute: string;
  /** The referenced resource's synthesized arguments (to tell a primary from a replica, a queue by its name). */
  resource: Record<string, unknown>;
}

/** A reference's local stand-in, or undefined when the test has none (the test then fails naming it). */
export type ReferenceResolver = (reference: Reference) => string | undefined;

/**
 * Each role's env file text as user data writes it, every `${...}` replaced through `resolve`. Anything that is
 * not a plain resource attribute, or that `resolve` does not map, is reported at once: a new reference must get
 * a stand-in on purpose.
 */
export function resolvedEnvFiles(stack: SynthesizedStack, resolve: ReferenceResolver): Record<Role, string> {
  const unmapped = new Set<string>();
  const files = roleEnvFiles(stack, (key, expression) => {
    const match = /^([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.(.+)$/.exec(expression);
    const resource = match && stack.resource[match[1]]?.[match[2]];
    const text = `\${${expression}}`;
    const value =
      match && resource ? resolve({ text, type: match[1], name: match[2], attribute: match[3], resource }) : undefined;
    if (value === undefined) unmapped.add(`${key}: ${text}`);
    return value ?? text;
  });
  if (unmapped.size > 0)
    throw new Error(`no local stand-in for these references in the env files:\n  ${[...unmapped].join('\n  ')}`);
  const text = (role: Role) =>
    `${Object.entries({ ...files[role], CYPHR_ROLE: role })
      .map(([key, value]) => `${key}=${value}`)
      .join('\n')}\n`;
  return { api: text('api'), worker: text('worker') };
}

/** The IAM role name an instance of `role` runs as: launch template → instance profile → role (what IMDS serves). */
export function instanceRoleName(stack: SynthesizedStack, role: Role): string {
  const address = (reference: unknown, type: string) => {
    const match = new RegExp(`^\\$\\{${type}\\.([A-Za-z0-9_-]+)\\.`).exec(String(reference));
    const found = match && stack.resource[type]?.[match[1]];
    if (!found) throw new Error(`expected a reference to a ${type}, got ${String(reference)}`);
    return found;
  };
  const template = Object.values(stack.resource.aws_launch_template ?? {}).find((t) =>
    userDataScriptOf(String(t.user_data)).includes(`cyphr-${role}@0.service`),
  );
  const profileRef = (template?.iam_instance_profile as { arn?: string } | undefined)?.arn;
  const profile = address(profileRef, 'aws_iam_instance_profile');
  return String(address(profile.role, 'aws_iam_role').name);
}
