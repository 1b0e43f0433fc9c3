// `npm run synth:hcl`: renders every synthesized JSON stack (cdktf.out/stacks/<stack>/cdk.tf.json) as
// HCL into cdktf.out.hcl/stacks/<stack>/, one file per top-level construct (network.tf, database.tf, ...)
// plus terraform.tf, providers.tf and outputs.tf; formats them with `terraform fmt` and checks them.
//   ts-node scripts/terraform/hcl/synth-hcl.ts [json-out=cdktf.out] [hcl-out=cdktf.out.hcl]
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderHclFiles } from './render';
import { loadProviderShapes, type ProviderShapes } from './schema';

export interface HclStack {
  name: string;
  dir: string;
  /** The .tf files written, by name. */
  files: string[];
}

/** Renders each stack of `jsonOut` into `hclOut`, then `terraform fmt` and `terraform fmt -check`. */
export function synthHcl(jsonOut: string, hclOut: string, shapes: ProviderShapes = loadProviderShapes()): HclStack[] {
  const stacksDir = join(jsonOut, 'stacks');
  if (!existsSync(stacksDir)) throw new Error(`${stacksDir} does not exist: run the JSON synth first (npm run synth)`);
  const terraform = process.env.CYPHR_TERRAFORM_BIN ?? 'terraform';
  const stacks = readdirSync(stacksDir).filter((name) => existsSync(join(stacksDir, name, 'cdk.tf.json')));
  const out = join(hclOut, 'stacks');
  rmSync(out, { recursive: true, force: true });
  const written = stacks.map((name) => {
    const doc = JSON.parse(readFileSync(join(stacksDir, name, 'cdk.tf.json'), 'utf8'));
    const dir = join(out, name);
    mkdirSync(dir, { recursive: true });
    const files = Object.entries(renderHclFiles(doc, shapes)).map(([file, text]) => {
      writeFileSync(join(dir, file), text);
      return file;
    });
    // Files the stack references by relative path (the bundle archive, as a TerraformAsset) travel with it.
    const assets = join(stacksDir, name, 'assets');
    if (existsSync(assets)) cpSync(assets, join(dir, 'assets'), { recursive: true });
    return { name, dir, files };
  });
  if (written.length) {
    execFileSync(terraform, ['fmt', '-recursive', '-list=false', out], { stdio: 'pipe' });
    execFileSync(terraform, ['fmt', '-check', '-recursive', out], { stdio: 'pipe' });
  }
  return written;
}

if (require.main === module) {
  const [jsonOut = 'cdktf.out', hclOut = 'cdktf.out.hcl'] = process.argv.slice(2);
  try {
    for (const stack of synthHcl(resolve(jsonOut), resolve(hclOut)))
      console.log(`${stack.name}: ${stack.dir} (${stack.files.join(', ')})`);
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    console.error(err.stderr?.toString() || err.message);
    process.exit(1);
  }
}
