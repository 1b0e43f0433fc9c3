import 'reflect-metadata';
import { join } from 'node:path';
import { loadLocalEnvFile } from '../../common/config/local-env-file';
import { drain } from './drain-rate';

/**
 * The bench's drain phase on the compiled worker (.local/bench/build), with worker CPU ms per stored message:
 *   npx ts-node --transpile-only worker/bench/drain-once.ts [messages=5000] [loops=8] [conversations=100] [profileDir|-] [processes=1]
 */
async function main(): Promise<void> {
  loadLocalEnvFile();
  const [messages = 5000, loops = 8, conversations = 100] = process.argv.slice(2, 5).map(Number);
  const profileDir = process.argv[5] && process.argv[5] !== '-' ? process.argv[5] : undefined;
  const processes = Number(process.argv[6] ?? 1);
  const build = process.env.BENCH_WORKER_BUILD ?? join(__dirname, '..', '..', '.local', 'bench', 'build');
  const worker = join(build, 'worker', 'main.js');
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), worker];
  const result = (await drain(messages, loops, processes, args, { conversations })) as {
    perSecond: number;
    cpuCoresBusy: Record<string, string>;
  };
  const msPerMessage = (Number(result.cpuCoresBusy.worker) * 1000) / Math.max(1, result.perSecond);
  console.log(JSON.stringify({ ...result, workerCpuMsPerMessage: Number(msPerMessage.toFixed(3)) }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
