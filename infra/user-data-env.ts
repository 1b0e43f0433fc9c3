// Reads back what user data writes: each role's env file, from a synthesized stack's launch templates,
// with the Terraform references (`${...}`) replaced. The user-data spec replaces them with placeholders of
// the right format to run each role's validator; the packaging boot test with local endpoints to run the bundle.
import { ENV_FILE_END, ENV_FILE_PATH, type AppRole } from './constructs/user-data';

export type EnvFile = Record<string, string>;

/**
 * Gives the text that stands in for one Terraform reference in variable `key` (`reference` without `${}`,
 * e.g. `aws_sqs_queue.queues_messages_queue.url`); `value` is the variable's whole value, for context.
 */
export type ReferenceReplacer = (key: string, reference: string, value: string) => string;

interface SynthesizedStack {
  resource?: { aws_launch_template?: Record<string, { user_data?: string }> };
}

/** The user data script: cdktf renders `${base64encode("<script>")}` when the script holds references. */
export function userDataScriptOf(userData: string): string {
  const expression = /^\$\{base64encode\((".*")\)\}$/s.exec(userData);
  if (expression) return unquoteHcl(expression[1]);
  return Buffer.from(userData, 'base64').toString('utf8');
}

/** An HCL quoted string's value (the escapes cdktf writes: \n \" \\ \t, and $${ / %%{ for literal ${ / %{). */
function unquoteHcl(quoted: string): string {
  const body = quoted.slice(1, -1);
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
  return body.replace(/\\(.)/g, (_, char: string) => escapes[char] ?? `\\${char}`);
}

/** The KEY=value lines between the here-document that writes the env file and its delimiter. */
export function envFileOf(script: string): EnvFile {
  const lines = script.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`cat > ${ENV_FILE_PATH} <<'${ENV_FILE_END}'`));
  const end = lines.indexOf(ENV_FILE_END, start + 1);
  if (start < 0 || end < 0) throw new Error(`user data does not write ${ENV_FILE_PATH}`);
  return Object.fromEntries(
    lines.slice(start + 1, end).map((line) => {
      const equals = line.indexOf('=');
      return [line.slice(0, equals), line.slice(equals + 1)];
    }),
  );
}

/** Every `${...}` in a value (braces balanced: a reference may index with `[0]` or call a function). */
export function referencesIn(value: string): { start: number; end: number; reference: string }[] {
  const found: { start: number; end: number; reference: string }[] = [];
  let at = value.indexOf('${');
  while (at >= 0) {
    let depth = 0;
    let end = at + 1;
    for (; end < value.length; end++) {
      if (value[end] === '{') depth++;
      else if (value[end] === '}' && --depth === 0) break;
    }
    if (end >= value.length) throw new Error(`unbalanced reference in ${value}`);
    found.push({ start: at, end: end + 1, reference: value.slice(at + 2, end) });
    at = value.indexOf('${', end + 1);
  }
  return found;
}

export function substituteReferences(env: EnvFile, replace: ReferenceReplacer): EnvFile {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => {
      let result = '';
      let from = 0;
      for (const { start, end, reference } of referencesIn(value)) {
        result += value.slice(from, start) + replace(key, reference, value);
        from = end;
      }
      return [key, result + value.slice(from)];
    }),
  );
}

/**
 * A stand-in of the format the variable's validator expects: an ARN for `*_ARN`, an https URL for a queue URL,
 * a host name inside a URL (REDIS_URL becomes rediss://placeholder:6379) or for a host list, a default port for a port.
 */
export const placeholder: ReferenceReplacer = (key, reference, value) => {
  // A port attribute: the service's default port (REDIS_URL's, else PostgreSQL's).
  if (reference.endsWith('.port')) return key === 'REDIS_URL' ? '6379' : '5432';
  if (key.endsWith('_ARN')) return 'arn:aws:secretsmanager:us-east-1:000000000000:secret:placeholder';
  if (key.endsWith('_URL') && value === `\${${reference}}`) return 'https://placeholder.example/000000000000/queue';
  return 'placeholder';
};

/** Each role's env file as the stack's user data writes it, references replaced (by `placeholder` unless given). */
export function roleEnvFiles(
  synthesized: string | SynthesizedStack,
  replace: ReferenceReplacer = placeholder,
): Record<AppRole, EnvFile> {
  const json = (typeof synthesized === 'string' ? JSON.parse(synthesized) : synthesized) as SynthesizedStack;
  const files: Partial<Record<AppRole, EnvFile>> = {};
  for (const template of Object.values(json.resource?.aws_launch_template ?? {})) {
    if (!template.user_data) continue;
    const { CYPHR_ROLE: role, ...env } = envFileOf(userDataScriptOf(template.user_data));
    if (role !== 'api' && role !== 'worker') throw new Error(`user data for an unknown role ${role}`);
    if (files[role]) throw new Error(`two launch templates write the ${role} env file`);
    files[role] = substituteReferences(env, replace);
  }
  if (!files.api || !files.worker) throw new Error('the stack has no user data for the api or the worker');
  return files as Record<AppRole, EnvFile>;
}
