/**
 * Light-load latency of send and history: one in-process instance on the local services, N sequential
 * requests each, percentiles printed. `npx ts-node --transpile-only server/scripts/measure-latency.ts [N]`.
 * Sends go to a throwaway queue (deleted afterwards); history reads a page of 50 from the replica.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadLocalEnvFile } from '../../common/config/local-env-file';
import {
  call,
  conversationOf,
  privateQueue,
  register,
  replicaCaughtUp,
  startServer,
  storeMessage,
} from '../test/helpers';

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1);
  const mean = (sorted.reduce((sum, value) => sum + value, 0) / sorted.length).toFixed(1);
  return `${label}: n=${sorted.length} mean=${mean} ms p50=${at(50)} ms p95=${at(95)} ms p99=${at(99)} ms max=${sorted.at(-1)!.toFixed(1)} ms`;
}

async function timed(action: () => Promise<{ status: number }>, expected: number): Promise<number> {
  const started = process.hrtime.bigint();
  const answer = await action();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (answer.status !== expected) throw new Error(`unexpected status ${answer.status}`);
  return ms;
}

async function main(): Promise<void> {
  loadLocalEnvFile();
  const count = Number(process.argv[2] ?? 200);
  const queue = await privateQueue();
  const server = await startServer({ env: { SQS_MESSAGES_QUEUE_URL: queue.url } });
  try {
    const [alice, bob] = await Promise.all([register(server.url, 'alice'), register(server.url, 'bob')]);
    const conversationId = await conversationOf(server.url, alice, [bob]);
    for (let i = 0; i < 100; i++)
      await storeMessage(conversationId, i % 2 ? alice.id : bob.id, randomBytes(256).toString('base64'));
    await replicaCaughtUp();
    const ciphertext = randomBytes(512).toString('base64');
    const send = () =>
      call(server.url, 'POST', `/v1/conversations/${conversationId}/messages`, {
        token: alice.token,
        body: { clientMessageId: randomUUID(), ciphertext },
      });
    const history = () =>
      call(server.url, 'GET', `/v1/conversations/${conversationId}/messages?limit=50`, { token: bob.token });
    for (let i = 0; i < 10; i++) await Promise.all([send(), history()]); // warm-up: pools, caches, JIT
    const sends: number[] = [];
    const reads: number[] = [];
    for (let i = 0; i < count; i++) sends.push(await timed(send, 202));
    for (let i = 0; i < count; i++) reads.push(await timed(history, 200));
    console.log(summary('send (POST .../messages → 202, SQS confirmed)', sends));
    console.log(summary('history (GET .../messages?limit=50, replica)', reads));
  } finally {
    await server.shutdown();
    await queue.remove();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
