// Plan synthesized stacks offline and print what each creates.
//   npx ts-node --transpile-only scripts/terraform/plan.ts cdktf.out/stacks/cyphr-staging [more stack dirs]
import { planStacks, TerraformStepError } from './harness';

async function main(dirs: string[]): Promise<void> {
  if (!dirs.length) {
    console.error('usage: ts-node scripts/terraform/plan.ts <stackdir> [<stackdir>...]');
    process.exit(2);
  }
  const results = await planStacks(dirs);
  for (const dir of dirs) {
    const result = results.get(dir);
    if (!result) continue;
    const { init, validate, plan, total } = result.timings;
    console.log(
      `${dir}: ${result.createCount()} to create (init ${init} ms, validate ${validate} ms, plan ${plan} ms, total ${total} ms)`,
    );
    for (const [type, count] of Object.entries(result.countByType()))
      console.log(`  ${String(count).padStart(4)}  ${type}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof TerraformStepError || e instanceof Error ? e.message : e);
  process.exit(1);
});
