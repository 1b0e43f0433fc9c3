// Terraform harness: plans a synthesized stack with the real `terraform` binary, offline and
// without ever touching the caller's credentials or state.
//
// The stack directory is copied to a fresh temp dir; there we add a CLI config pointing at a local
// filesystem mirror of hashicorp/aws, an override file giving every aws provider block dummy keys
// and the skip flags, and a local backend. Terraform runs with an environment built from scratch
// (no AWS_* variables pass through). Works for cdktf JSON stacks (cdk.tf.json) and HCL (*.tf).
//
// Ephemeral resources are opened during plan: an ephemeral aws_secretsmanager_random_password calls
// GetRandomPassword. The override points the provider's Secrets Manager endpoint at a local stand-in
// (scripts/testing/aws/secrets-manager.ts), started for the plans unless the caller gives one.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  cpSync,
  renameSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SecretsManagerStandIn } from '../testing/aws/secrets-manager';

export const AWS_PROVIDER = 'registry.terraform.io/hashicorp/aws';
export const AWS_PROVIDER_VERSION = '5.100.0';

/** Where a local mirror of hashicorp/aws may live, first hit wins (after CYPHR_TF_PROVIDER_MIRROR). */
export const MIRROR_CANDIDATES = [
  '/opt/tf-plugins',
  '/usr/share/terraform/plugins',
  '/usr/local/share/terraform/plugins',
  join(process.env.HOME ?? '/root', '.terraform.d', 'plugins'),
  join(process.env.HOME ?? '/root', '.local', 'share', 'terraform', 'plugins'),
];

const REPO_ROOT = resolve(__dirname, '..', '..');

export interface HarnessOptions {
  /** Filesystem mirror holding registry.terraform.io/hashicorp/aws/<version>/<platform>.
   * @default $CYPHR_TF_PROVIDER_MIRROR, else the first of MIRROR_CANDIDATES that holds the provider */
  mirror?: string;
  /** Shared plugin cache (the provider is linked, not copied, into each work dir).
   * @default $CYPHR_TF_PLUGIN_CACHE, else <repo>/.local/terraform-plugin-cache */
  pluginCacheDir?: string;
  /** terraform binary. @default $CYPHR_TERRAFORM_BIN, else `terraform` on PATH */
  terraformBin?: string;
  /** Keep the temp work dir (for debugging). @default false, unless CYPHR_TF_KEEP=1 */
  keepWorkDir?: boolean;
  /** Per-command timeout in ms. @default 300_000 */
  timeoutMs?: number;
  /** Secrets Manager endpoint the provider calls during plan (ephemeral resources).
   * @default a SecretsManagerStandIn started for the plan and closed after it */
  secretsManagerEndpoint?: string;
}

export interface ResourceChange {
  address: string;
  type: string;
  name: string;
  mode: 'managed' | 'data';
  provider_name: string;
  change: {
    actions: string[];
    before: unknown;
    after: Record<string, unknown> | null;
    after_unknown?: Record<string, unknown>;
  };
}

/** The subset of `terraform show -json` we use; the full document is on `PlanResult.plan`. */
export interface TerraformPlan {
  format_version: string;
  terraform_version: string;
  resource_changes?: ResourceChange[];
  planned_values?: { outputs?: Record<string, { sensitive: boolean; value?: unknown }> };
  configuration?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ValidateResult {
  valid: boolean;
  error_count: number;
  warning_count: number;
  diagnostics: { severity: string; summary: string; detail?: string }[];
}

export interface PlanResult {
  stackDir: string;
  /** Kept only when keepWorkDir; otherwise already removed. */
  workDir: string;
  plan: TerraformPlan;
  validate: ValidateResult;
  /** Milliseconds per step. */
  timings: Record<'init' | 'validate' | 'plan' | 'show' | 'total', number>;
  /** Managed resource changes (data sources left out), optionally of one type. */
  resources(type?: string): ResourceChange[];
  /** Number of managed resources per type the plan creates. */
  countByType(): Record<string, number>;
  /** Total managed resources the plan creates. */
  createCount(): number;
  /** The planned `after` values of the one resource at `address`; throws if absent. */
  after(address: string): Record<string, unknown>;
}

export class TerraformStepError extends Error {
  constructor(
    readonly step: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
    workDir: string,
  ) {
    super(`terraform ${step} failed (exit ${exitCode}) in ${workDir}\n${stderr.trim() || stdout.trim()}`);
    this.name = 'TerraformStepError';
  }
}

export function findProviderMirror(explicit?: string): string {
  const wanted = explicit ?? process.env.CYPHR_TF_PROVIDER_MIRROR;
  const candidates = wanted ? [wanted] : MIRROR_CANDIDATES;
  for (const dir of candidates) {
    if (existsSync(join(dir, AWS_PROVIDER, AWS_PROVIDER_VERSION))) return dir;
  }
  throw new Error(
    `No filesystem mirror of ${AWS_PROVIDER} ${AWS_PROVIDER_VERSION} found in ${candidates.join(', ')}. ` +
      'Set CYPHR_TF_PROVIDER_MIRROR to a directory holding registry.terraform.io/hashicorp/aws/5.100.0/<os_arch>/.',
  );
}

export function cliConfig(mirror: string, pluginCacheDir: string): string {
  return [
    `plugin_cache_dir = ${JSON.stringify(pluginCacheDir)}`,
    'provider_installation {',
    '  filesystem_mirror {',
    `    path    = ${JSON.stringify(mirror)}`,
    `    include = [${JSON.stringify(AWS_PROVIDER)}]`,
    '  }',
    '  direct {',
    `    exclude = [${JSON.stringify(AWS_PROVIDER)}]`,
    '  }',
    '}',
    '',
  ].join('\n');
}

const DUMMY_PROVIDER_SETTINGS = {
  access_key: 'AKIAHARNESSDUMMYKEY0',
  secret_key: 'harness-dummy-secret-key-not-a-credential',
  skip_credentials_validation: true,
  skip_requesting_account_id: true,
  skip_metadata_api_check: true,
  skip_region_validation: true,
};

/** Endpoints of AWS services the provider may call while planning offline. */
export interface HarnessEndpoints {
  secretsmanager?: string;
}

/** Override: dummy keys (and local endpoints) on every aws provider block (matched by alias) and a local backend. */
export function overrideDocument(
  aliases: (string | undefined)[],
  statePath: string,
  endpoints: HarnessEndpoints = {},
): Record<string, unknown> {
  const unique = [...new Set(aliases)];
  return {
    ...(unique.length ? { provider: { aws: unique.map((alias) => providerSettings(alias, endpoints)) } } : {}),
    terraform: { backend: { local: { path: statePath } } },
  };
}

function providerSettings(alias: string | undefined, endpoints: HarnessEndpoints): Record<string, unknown> {
  const set = Object.fromEntries(Object.entries(endpoints).filter(([, url]) => url));
  const local = Object.keys(set).length ? { endpoints: [set] } : {};
  return alias ? { alias, ...DUMMY_PROVIDER_SETTINGS, ...local } : { ...DUMMY_PROVIDER_SETTINGS, ...local };
}

function defaultPluginCacheDir(explicit?: string): string {
  return resolve(explicit ?? process.env.CYPHR_TF_PLUGIN_CACHE ?? join(REPO_ROOT, '.local', 'terraform-plugin-cache'));
}

/** Aliases of the aws provider blocks in a directory (JSON and HCL files); `undefined` is the default one. */
export function awsProviderAliases(dir: string): (string | undefined)[] {
  const aliases: (string | undefined)[] = [];
  for (const file of readdirSync(dir)) {
    if (file.startsWith('zz_harness')) continue;
    const text = () => readFileSync(join(dir, file), 'utf8');
    if (file.endsWith('.tf.json')) {
      const blocks = (JSON.parse(text()) as { provider?: { aws?: unknown } }).provider?.aws;
      for (const block of [blocks ?? []].flat() as { alias?: string }[]) aliases.push(block.alias);
    } else if (file.endsWith('.tf')) {
      for (const m of text().matchAll(/provider\s+"aws"\s*\{([\s\S]*?)\n\}/g)) {
        aliases.push(/^\s*alias\s*=\s*"([^"]+)"/m.exec(m[1])?.[1]);
      }
    }
  }
  return aliases;
}

/**
 * Settings that need real credentials (profile, role) or the real account id (account guards: with
 * skip_requesting_account_id the provider knows no account); dropped from JSON copies.
 */
const CREDENTIAL_KEYS = [
  'allowed_account_ids',
  'forbidden_account_ids',
  'profile',
  'shared_config_files',
  'shared_credentials_files',
  'assume_role',
  'assume_role_with_web_identity',
  'token',
];

/** Copy a stack to workDir, dropping CREDENTIAL_KEYS from aws provider blocks and the backend from cdk.tf.json. */
function copyStack(stackDir: string, workDir: string): void {
  cpSync(stackDir, workDir, {
    recursive: true,
    filter: (src) => !/(^|\/)(\.terraform|terraform\.tfstate[^/]*|\.terraform\.lock\.hcl|plan\.bin)$/.test(src),
  });
  for (const file of readdirSync(workDir)) {
    const path = join(workDir, file);
    if (file.endsWith('.tf.json'))
      writeFileSync(path, sanitizeJson(readFileSync(path, 'utf8'), file === 'cdk.tf.json'));
    else if (file.endsWith('.tf')) writeFileSync(path, sanitizeHcl(readFileSync(path, 'utf8')));
  }
}

function sanitizeJson(text: string, dropBackend: boolean): string {
  const doc = JSON.parse(text) as { provider?: Record<string, unknown>; terraform?: Record<string, unknown> };
  for (const block of [doc.provider?.aws ?? []].flat() as Record<string, unknown>[]) {
    for (const key of CREDENTIAL_KEYS) delete block[key];
  }
  if (dropBackend && doc.terraform) delete doc.terraform.backend;
  return JSON.stringify(doc, null, 2);
}

/** HCL as `terraform fmt` writes it: one-line arguments, lists closed by `]`, blocks by `}` at their indent. */
function sanitizeHcl(text: string): string {
  return text.replace(/provider\s+"aws"\s*\{[\s\S]*?\n\}/g, (block) => {
    let cleaned = block;
    for (const key of CREDENTIAL_KEYS) {
      cleaned = cleaned
        .replace(new RegExp(`\\n(\\s*)${key}\\s*=\\s*\\[[\\s\\S]*?\\]`, 'g'), '')
        .replace(new RegExp(`\\n(\\s*)${key}\\s*=[^\\n]*`, 'g'), '')
        .replace(new RegExp(`\\n(\\s*)${key}\\s*\\{[\\s\\S]*?\\n\\1\\}`, 'g'), '');
    }
    return cleaned;
  });
}

/** An environment built from scratch: nothing of the caller's AWS or Terraform setup leaks in. */
export function cleanEnv(workDir: string, cliConfigFile: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: workDir,
    TMPDIR: workDir,
    LANG: 'C.UTF-8',
    TF_CLI_CONFIG_FILE: cliConfigFile,
    TF_DATA_DIR: join(workDir, '.terraform'),
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

interface RunOutput {
  stdout: string;
  stderr: string;
  ms: number;
}

function run(
  bin: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  step: string,
  timeoutMs: number,
  allowFail = false,
): Promise<RunOutput & { code: number | null }> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${bin} for terraform ${step}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Date.now() - started,
        code,
      };
      if (code === 0 || allowFail) return resolvePromise(result);
      const why = signal ? `${result.stderr}\n(killed by ${signal} after ${timeoutMs} ms)` : result.stderr;
      reject(new TerraformStepError(step, code, result.stdout, why, cwd));
    });
  });
}

/** The lock file recorded by the first init; reusing it lets later inits link the cached provider. */
function sharedLockFile(pluginCacheDir: string): string {
  return join(pluginCacheDir, `aws-${AWS_PROVIDER_VERSION}.terraform.lock.hcl`);
}

/** Runs `use` with a Secrets Manager endpoint: the caller's, or a stand-in alive for the duration. */
async function withSecretsManager<T>(options: HarnessOptions, use: (endpoint: string) => Promise<T>): Promise<T> {
  if (options.secretsManagerEndpoint) return use(options.secretsManagerEndpoint);
  const standIn = await SecretsManagerStandIn.start();
  try {
    return await use(standIn.url);
  } finally {
    await standIn.close();
  }
}

/** Plan a stack directory (cdktf.out/stacks/<name> or an HCL root module) offline. */
export async function planStack(stackDir: string, options: HarnessOptions = {}): Promise<PlanResult> {
  return withSecretsManager(options, (endpoint) => planOne(stackDir, { ...options, secretsManagerEndpoint: endpoint }));
}

async function planOne(stackDir: string, options: HarnessOptions): Promise<PlanResult> {
  const started = Date.now();
  const source = resolve(stackDir);
  if (!existsSync(source)) throw new Error(`stack directory ${source} does not exist (run synth first)`);
  if (!readdirSync(source).some((f) => f.endsWith('.tf.json') || f.endsWith('.tf'))) {
    throw new Error(`stack directory ${source} holds no cdk.tf.json, *.tf.json or *.tf file`);
  }
  const mirror = findProviderMirror(options.mirror);
  const pluginCacheDir = defaultPluginCacheDir(options.pluginCacheDir);
  mkdirSync(pluginCacheDir, { recursive: true });
  const bin = options.terraformBin ?? process.env.CYPHR_TERRAFORM_BIN ?? 'terraform';
  const timeoutMs = options.timeoutMs ?? 300_000;
  const keep = options.keepWorkDir ?? process.env.CYPHR_TF_KEEP === '1';

  const workDir = mkdtempSync(join(tmpdir(), 'cyphr-tf-'));
  try {
    const moduleDir = join(workDir, 'stack');
    copyStack(source, moduleDir);
    const cliFile = join(workDir, 'terraform.rc');
    writeFileSync(cliFile, cliConfig(mirror, pluginCacheDir));
    const aliases = awsProviderAliases(moduleDir);
    const endpoints = { secretsmanager: options.secretsManagerEndpoint };
    const override = overrideDocument(aliases, join(workDir, 'terraform.tfstate'), endpoints);
    writeFileSync(join(moduleDir, 'zz_harness_override.tf.json'), JSON.stringify(override, null, 2));
    if (!aliases.length) {
      // An override needs a block to override: a stack with an implicit aws provider gets a real one.
      writeFileSync(
        join(moduleDir, 'zz_harness_provider.tf.json'),
        JSON.stringify({ provider: { aws: [providerSettings(undefined, endpoints)] } }, null, 2),
      );
    }
    const lock = sharedLockFile(pluginCacheDir);
    if (existsSync(lock)) cpSync(lock, join(moduleDir, '.terraform.lock.hcl'));
    const env = cleanEnv(workDir, cliFile);
    const tf = (step: string, args: string[], allowFail = false) =>
      run(bin, args, moduleDir, env, step, timeoutMs, allowFail);

    const init = await tf('init', ['init', '-input=false', '-no-color']);
    if (!existsSync(lock)) {
      // Write-then-rename so a parallel reader never sees half a file.
      const tmp = `${lock}.${process.pid}.${Date.now()}`;
      cpSync(join(moduleDir, '.terraform.lock.hcl'), tmp);
      renameSync(tmp, lock);
    }
    const validateRun = await tf('validate', ['validate', '-json', '-no-color'], true);
    const validate = JSON.parse(validateRun.stdout) as ValidateResult;
    if (!validate.valid) {
      const lines = validate.diagnostics.map((d) => `${d.severity}: ${d.summary}${d.detail ? ` — ${d.detail}` : ''}`);
      throw new TerraformStepError('validate', validateRun.code, validateRun.stdout, lines.join('\n'), moduleDir);
    }
    const planRun = await tf('plan', ['plan', '-input=false', '-lock=false', '-no-color', '-out=plan.bin']);
    const show = await tf('show', ['show', '-json', '-no-color', 'plan.bin']);
    const plan = JSON.parse(show.stdout) as TerraformPlan;
    const timings = {
      init: init.ms,
      validate: validateRun.ms,
      plan: planRun.ms,
      show: show.ms,
      total: Date.now() - started,
    };
    return planResult(source, workDir, plan, validate, timings);
  } finally {
    if (!keep) rmSync(workDir, { recursive: true, force: true });
  }
}

export function planResult(
  stackDir: string,
  workDir: string,
  plan: TerraformPlan,
  validate: ValidateResult,
  timings: PlanResult['timings'],
): PlanResult {
  const managed = (plan.resource_changes ?? []).filter((r) => r.mode === 'managed');
  const creates = managed.filter((r) => r.change.actions.includes('create'));
  return {
    stackDir,
    workDir,
    plan,
    validate,
    timings,
    resources: (type) => (type ? managed.filter((r) => r.type === type) : managed),
    countByType: () => {
      const counts: Record<string, number> = {};
      for (const r of creates) counts[r.type] = (counts[r.type] ?? 0) + 1;
      return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
    },
    createCount: () => creates.length,
    after: (address) => {
      const found = managed.find((r) => r.address === address);
      if (!found)
        throw new Error(
          `no resource ${address} in plan of ${stackDir}; have: ${managed.map((r) => r.address).join(', ')}`,
        );
      return found.change.after ?? {};
    },
  };
}

/** Plan several stacks, at most `concurrency` terraform runs at a time (each plan is mostly one busy core). */
export async function planStacks(
  stackDirs: string[],
  options: HarnessOptions & { concurrency?: number } = {},
): Promise<Map<string, PlanResult>> {
  // One stand-in serves every plan of the batch.
  return withSecretsManager(options, (endpoint) =>
    planBatch(stackDirs, { ...options, secretsManagerEndpoint: endpoint }),
  );
}

async function planBatch(
  stackDirs: string[],
  options: HarnessOptions & { concurrency?: number },
): Promise<Map<string, PlanResult>> {
  const results = new Map<string, PlanResult>();
  const queue = [...stackDirs];
  const concurrency = Math.max(1, options.concurrency ?? 2);
  // The first plan records the shared lock file; the rest then link the cached provider.
  if (queue.length && !existsSync(sharedLockFile(defaultPluginCacheDir(options.pluginCacheDir)))) {
    const first = queue.shift() as string;
    results.set(first, await planStack(first, options));
  }
  const worker = async () => {
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift())
      results.set(dir, await planStack(dir, options));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}
