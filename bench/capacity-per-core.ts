import 'reflect-metadata';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { loadLocalEnvFile } from '../common/config/local-env-file';
import { MessageStore } from '../worker/messages/message-store';
import { createConversation, messageBody, openDatabase } from '../worker/test/helpers';
import type { PerCoreFigures } from './capacity-scale';

/**
 * `npx ts-node --transpile-only bench/capacity-per-core.ts [out.json]`: what one core of each shared service does
 * with our statements, for the model past the large tier (capacity-scale.ts). The bench's limits phase gives
 * the rates; its per-service CPU counts every `postgres` process on the machine and drops backends that end
 * before the meter stops, so here the CPU is read from this stack's own PostgreSQL primary (postmaster and its
 * children, the pool held open across the reading) and its own Redis, from the pid files services.sh writes.
 */
const TICKS_PER_SECOND = 100;
const ROOT = join(__dirname, '..');

function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** CPU seconds of a process and its children, per pid, so a child that started meanwhile counts from zero. */
function snapshot(root: number): Map<number, number> {
  return new Map([root, ...childrenOf(root)].map((pid) => [pid, cpuTicks(pid)]));
}
function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, value] of after) ticks += value - (before.get(pid) ?? 0);
  return ticks / TICKS_PER_SECOND;
}

const pidFile = (path: string) => Number(readFileSync(join(ROOT, path), 'utf8').split('\n')[0]);

async function postgresRowsPerCore(rows: number, loops: number) {
  const db = await openDatabase();
  const postmaster = pidFile('.local/postgres/primary/postmaster.pid');
  try {
    const conversation = await createConversation(db, 2);
    const store = new MessageStore(db);
    const batches = Array.from({ length: Math.ceil(rows / 10) }, () =>
      Array.from({ length: 10 }, () => messageBody(conversation)),
    );
    await store.storeBatch(batches.pop()!); // the pool's connections exist before the reading starts
    let next = 0;
    const before = snapshot(postmaster);
    const started = Date.now();
    await Promise.all(
      Array.from({ length: loops }, async () => {
        while (next < batches.length) await store.storeBatch(batches[next++]);
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const cores = cpuSecondsBetween(before, snapshot(postmaster)) / seconds;
    const stored = batches.length * 10;
    return { rowsPerSecond: Math.round(stored / seconds), coresBusy: Number(cores.toFixed(3)), rows: stored };
  } finally {
    await db.destroy();
  }
}

async function redisDeliveriesPerCore(seconds: number, channels = 100) {
  const url = process.env.REDIS_URL!;
  const redisPid = pidFile('.local/redis/redis.pid');
  const publisher = createClient({ url });
  const subscriber = createClient({ url });
  await Promise.all([publisher.connect(), subscriber.connect()]);
  let received = 0;
  try {
    for (let index = 0; index < channels; index++)
      await subscriber.subscribe(`per-core:${index}`, () => void received++);
    const payload = JSON.stringify({ type: 'message', message: { ciphertext: 'x'.repeat(200) } });
    const before = cpuTicks(redisPid);
    const started = Date.now();
    const until = started + seconds * 1000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (Date.now() < until) await publisher.publish(`per-core:${next++ % channels}`, payload);
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const elapsed = (Date.now() - started) / 1000;
    const cores = (cpuTicks(redisPid) - before) / TICKS_PER_SECOND / elapsed;
    return { deliveriesPerSecond: Math.round(received / elapsed), coresBusy: Number(cores.toFixed(3)) };
  } finally {
    await Promise.all([publisher.quit(), subscriber.quit()]).catch(() => undefined);
  }
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

/** Three readings of each, the median kept: the machine is shared, a single reading can catch a neighbour's burst. */
async function main(): Promise<void> {
  loadLocalEnvFile();
  const postgres = [];
  const redis = [];
  for (let run = 0; run < 3; run++) {
    postgres.push(await postgresRowsPerCore(20_000, 8));
    redis.push(await redisDeliveriesPerCore(5));
  }
  const figures: PerCoreFigures = {
    measuredAt: new Date().toISOString(),
    machine: 'the bench machine: 2 KVM vCPUs (AMD EPYC), everything on loopback, shared with other work',
    postgresRowsPerCoreSecond: median(postgres.map((p) => Math.round(p.rowsPerSecond / Math.max(0.01, p.coresBusy)))),
    redisDeliveriesPerCoreSecond: median(
      redis.map((r) => Math.round(r.deliveriesPerSecond / Math.max(0.01, r.coresBusy))),
    ),
    raw: { postgres, redis },
  };
  // The replica's pages per core come from the bench's history phase, not from here: keep them.
  if (process.argv[2] && existsSync(process.argv[2])) {
    const previous = JSON.parse(readFileSync(process.argv[2], 'utf8')) as PerCoreFigures & {
      replicaPagesSource?: string;
    };
    Object.assign(figures, {
      replicaPagesPerCoreSecond: previous.replicaPagesPerCoreSecond,
      replicaPagesSource: previous.replicaPagesSource,
    });
  }
  const json = `${JSON.stringify(figures, null, 2)}\n`;
  if (process.argv[2]) writeFileSync(process.argv[2], json);
  process.stdout.write(json);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
