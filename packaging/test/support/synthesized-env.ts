// The env file each role's instances get, read from a synthesized stack the way an instance gets it: the launch
// template's user data, its heredoc, with Terraform's references still in it. The boot test resolves those
// references to local endpoints and nothing else, so what it runs is what the stack writes.
import { Testing } from 'cdktf';
import type { EnvironmentConfig, TierSpec } from '../../../infra/config';
import { CyphrStack } from '../../../infra/stack';

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

/**
 * Decodes an HCL quoted template (the body of `"..."`): escapes are decoded, `${...}` interpolations are kept
 * verbatim (quotes inside them are the expression's own), `$${` is a literal `${`.
 */
export function decodeHclString(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '$' && body.startsWith('$${', i)) {
      out += '${';
      i += 2;
    } else if (c === '$' && body[i + 1] === '{') {
      const end = interpolationEnd(body, i + 2);
      out += body.slice(i, end + 1);
      i = end;
    } else if (c === '\\') {
      const next = body[++i];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
      if (next in simple) out += simple[next];
      else if (next === 'u') {
        out += String.fromCharCode(parseInt(body.slice(i + 1, i + 5), 16));
        i += 4;
      } else throw new Error(`unsupported HCL escape \\${next}`);
    } else out += c;
  }
  return out;
}

/** Index of the `}` closing an interpolation whose expression starts at `start`. */
function interpolationEnd(text: string, start: number): number {
  let depth = 1;
  let quoted = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  throw new Error(`unterminated interpolation in ${text.slice(start - 2, start + 60)}`);
}

/** The user data script of a launch template: `${base64encode("...")}` as cdktf renders it, or plain base64. */
export function userDataScript(launchTemplate: Record<string, unknown>): string {
  const userData = String(launchTemplate.user_data ?? '');
  const wrapped = /^\$\{base64encode\("([\s\S]*)"\)\}$/.exec(userData);
  if (wrapped) return decodeHclString(wrapped[1]);
  if (userData.includes('${')) throw new Error(`user data is an expression the boot test cannot read: ${userData}`);
  return Buffer.from(userData, 'base64').toString('utf8');
}

/** The heredoc user data writes to /etc/cyphr/cyphr.env, references and all. */
export function envFileOf(script: string): string {
  const match = /cat > \/etc\/cyphr\/cyphr\.env <<'([A-Z_]+)'\n([\s\S]*?)\n\1\n/.exec(script);
  if (!match) throw new Error(`user data does not write /etc/cyphr/cyphr.env:\n${script}`);
  return `${match[2]}\n`;
}

/** Each role's env file, from the launch template whose user data starts that role's unit. */
export function roleEnvFiles(stack: SynthesizedStack): Record<Role, string> {
  const files: Partial<Record<Role, string>> = {};
  for (const template of Object.values(stack.resource.aws_launch_template ?? {})) {
    const script = userDataScript(template);
    const role = /systemctl enable --now cyphr-(api|worker)\.service/.exec(script)?.[1] as Role | undefined;
    if (!role) throw new Error('a launch template starts neither cyphr-api nor cyphr-worker');
    if (files[role]) throw new Error(`two launch templates start cyphr-${role}`);
    files[role] = envFileOf(script);
  }
  if (!files.api || !files.worker) throw new Error('the stack has no launch template for the api or the worker');
  return files as Record<Role, string>;
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
 * Replaces every `${...}` in `text` through `resolve`. Anything that is not a plain resource attribute, or that
 * `resolve` does not map, is collected and reported at once: a new reference must get a stand-in on purpose.
 */
export function resolveReferences(text: string, stack: SynthesizedStack, resolve: ReferenceResolver): string {
  const unmapped: string[] = [];
  const resolved = text.replace(/\$\{([^}]*)\}/g, (whole, expression: string) => {
    const match = /^([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.(.+)$/.exec(expression);
    const resource = match && stack.resource[match[1]]?.[match[2]];
    const value =
      match && resource
        ? resolve({ text: whole, type: match[1], name: match[2], attribute: match[3], resource })
        : undefined;
    if (value === undefined) unmapped.push(whole);
    return value ?? whole;
  });
  if (unmapped.length > 0)
    throw new Error(`no local stand-in for these references in the env file:\n  ${unmapped.join('\n  ')}`);
  return resolved;
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
    userDataScript(t).includes(`cyphr-${role}.service`),
  );
  const profileRef = (template?.iam_instance_profile as { arn?: string } | undefined)?.arn;
  const profile = address(profileRef, 'aws_iam_instance_profile');
  return String(address(profile.role, 'aws_iam_role').name);
}
