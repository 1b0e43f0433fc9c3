// Which keys of a Terraform JSON body are nested blocks (written `name { ... }` in HCL) and which are
// arguments (`name = value`). JSON syntax cannot tell them apart; the provider schema can.
// The schema comes from `terraform providers schema -json` (offline, through the provider mirror the
// harness uses) and is cached in compact form under .local/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AWS_PROVIDER, AWS_PROVIDER_VERSION, cleanEnv, cliConfig, findProviderMirror } from '../harness';

/** Nested block types of a body, recursively: name -> its own nested block types. */
export interface BlockShape {
  [blockType: string]: BlockShape;
}

export interface ProviderShapes {
  provider: BlockShape;
  resource: Record<string, BlockShape>;
  data: Record<string, BlockShape>;
  /** Ephemeral resources (`ephemeral "<type>" "<name>" {}`): values that exist during one run and never enter state. */
  ephemeral: Record<string, BlockShape>;
}

interface RawBlock {
  block_types?: Record<string, { block: RawBlock }>;
}

interface RawSchema {
  provider_schemas: Record<
    string,
    {
      provider: { block: RawBlock };
      resource_schemas: Record<string, { block: RawBlock }>;
      data_source_schemas: Record<string, { block: RawBlock }>;
      ephemeral_resource_schemas?: Record<string, { block: RawBlock }>;
    }
  >;
}

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
// The file name carries the cache's format: a cache written before ephemeral resources were kept is not read.
export const DEFAULT_CACHE = join(
  REPO_ROOT,
  '.local',
  'terraform-schema',
  `aws-${AWS_PROVIDER_VERSION}.blocks.v2.json`,
);

function shape(block: RawBlock): BlockShape {
  return Object.fromEntries(
    Object.entries(block.block_types ?? {}).map(([name, nested]) => [name, shape(nested.block)]),
  );
}

export function compactSchema(raw: RawSchema): ProviderShapes {
  const aws = raw.provider_schemas[AWS_PROVIDER];
  if (!aws) throw new Error(`no ${AWS_PROVIDER} in the provider schema`);
  const map = (schemas: Record<string, { block: RawBlock }>) =>
    Object.fromEntries(Object.entries(schemas).map(([k, v]) => [k, shape(v.block)]));
  return {
    provider: shape(aws.provider.block),
    resource: map(aws.resource_schemas),
    data: map(aws.data_source_schemas),
    ephemeral: map(aws.ephemeral_resource_schemas ?? {}),
  };
}

/** Runs `terraform providers schema -json` in a scratch module (mirror when found, else the registry). */
function readSchemaFromTerraform(terraformBin: string): RawSchema {
  const work = mkdtempSync(join(tmpdir(), 'cyphr-tf-schema-'));
  try {
    writeFileSync(
      join(work, 'main.tf.json'),
      JSON.stringify({
        terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: AWS_PROVIDER_VERSION } } },
      }),
    );
    let env: NodeJS.ProcessEnv = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
    try {
      const rc = join(work, 'terraform.rc');
      writeFileSync(rc, cliConfig(findProviderMirror(), join(work, 'plugin-cache')));
      env = cleanEnv(work, rc);
    } catch {
      // No local mirror: a machine with registry access installs the provider the usual way.
    }
    execFileSync(terraformBin, ['init', '-input=false', '-no-color', '-backend=false'], {
      cwd: work,
      env,
      stdio: 'pipe',
    });
    const out = execFileSync(terraformBin, ['providers', 'schema', '-json'], {
      cwd: work,
      env,
      maxBuffer: 256 * 1024 * 1024,
    });
    return JSON.parse(out.toString('utf8')) as RawSchema;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The block shapes of hashicorp/aws, from the cache or from Terraform (then cached). */
export function loadProviderShapes(options: { cacheFile?: string; terraformBin?: string } = {}): ProviderShapes {
  const cacheFile = options.cacheFile ?? process.env.CYPHR_TF_SCHEMA_CACHE ?? DEFAULT_CACHE;
  if (existsSync(cacheFile)) {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as Partial<ProviderShapes>;
    // An older cache (from before ephemeral resources) is read again from Terraform.
    if (cached.ephemeral) return cached as ProviderShapes;
  }
  const shapes = compactSchema(
    readSchemaFromTerraform(options.terraformBin ?? process.env.CYPHR_TERRAFORM_BIN ?? 'terraform'),
  );
  mkdirSync(dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(shapes));
  renameSync(tmp, cacheFile);
  return shapes;
}
