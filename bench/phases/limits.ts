import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { dbOnly, sqsOnly } from '../../worker/bench/drain-rate';
import { createTestQueues } from '../../worker/test/helpers';
import { CpuMeter, cpuMsPer, SERVICE_GROUPS } from '../lib/cpu';
import { Progress } from '../lib/progress';
import { perSecond } from '../lib/stats';

/**
 * The ceilings our figures sit on, measured in the same run with nothing of ours in between: the SQS server's
 * own send and receive+delete rates (batches of 10, as the API and worker use it), PostgreSQL's 10-row
 * insert (the worker's statement) and Redis pub/sub delivery. The clients run in this process, on the same
 * SDK and drivers the API and worker use.
 */
export interface LimitsResult {
  sqsSend: { messagesPerSecond: number; parallel: number; seconds: number; messages: number };
  sqsReceiveDelete: { messagesPerSecond: number; loops: number; messages: number };
  postgresInsert: { rowsPerSecond: number; commitsPerSecond: number; rowsPerStatement: number; parallel: number };
  redisPubSub: { messagesPerSecond: number; channels: number; seconds: number };
  cpuCoresBusy: Record<string, Record<string, number>>;
  /**
   * CPU ms this process (the client, on the API's and worker's SDK and drivers) spent per message of each raw
   * loop, set-up included: per message sent; per message sent, received and deleted (the loop pre-fills its
   * queue); per row inserted. The floor under our own CPU per message.
   */
  clientCpuMsPerMessage: { sqsSend: number; sqsReceiveDelete: number; postgresInsert: number };
}

export interface LimitsSettings {
  sqsSeconds: number;
  sqsMessages: number;
  dbRows: number;
  redisSeconds: number;
}

const BENCH_PROCESS = { pids: () => [process.pid] };

async function sqsSendRate(sqs: SQSClient, seconds: number, parallel = 16): Promise<LimitsResult['sqsSend']> {
  const queues = await createTestQueues(sqs, { visibilityTimeout: 30 });
  const body = JSON.stringify({ v: 1, ciphertext: Buffer.from(randomUUID().repeat(8)).toString('base64') });
  let sent = 0;
  let refused = 0;
  const started = Date.now();
  const until = started + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: parallel }, async (_, loop) => {
        while (Date.now() < until) {
          // The messages queue is FIFO: each entry needs a group (one per conversation in production, so many
          // groups here) and a deduplication id, or SQS refuses it.
          const result = await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queues.messages,
              Entries: Array.from({ length: 10 }, (_, id) => ({
                Id: String(id),
                MessageBody: body,
                MessageGroupId: `bench-${loop}-${(sent + id) % 100}`,
                MessageDeduplicationId: randomUUID(),
              })),
            }),
          );
          sent += result.Successful?.length ?? 0;
          refused += result.Failed?.length ?? 0;
        }
      }),
    );
    // Refusals would make this a measure of nothing (a FIFO queue refusing entries without a group did, at 0/s).
    if (refused > 0) throw new Error(`the SQS server refused ${refused} of ${sent + refused} raw sends`);
    const elapsed = (Date.now() - started) / 1000;
    return {
      messagesPerSecond: perSecond(sent, elapsed),
      parallel,
      seconds: Number(elapsed.toFixed(1)),
      messages: sent,
    };
  } finally {
    await queues.remove();
  }
}

/** Publishes on `channels` channels with up to 64 publishes in flight; counts what the subscriber receives. */
async function redisPubSubRate(seconds: number, channels = 100): Promise<LimitsResult['redisPubSub']> {
  const url = process.env.REDIS_URL!;
  const publisher = createClient({ url });
  const subscriber = createClient({ url });
  await Promise.all([publisher.connect(), subscriber.connect()]);
  const prefix = `bench:${randomUUID().slice(0, 8)}`;
  let received = 0;
  try {
    for (let index = 0; index < channels; index++)
      await subscriber.subscribe(`${prefix}:${index}`, () => void received++);
    const payload = JSON.stringify({ type: 'message', message: { ciphertext: 'x'.repeat(200) } });
    const until = Date.now() + seconds * 1000;
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (Date.now() < until) await publisher.publish(`${prefix}:${next++ % channels}`, payload);
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // the last deliveries
    const elapsed = (Date.now() - started) / 1000;
    return { messagesPerSecond: perSecond(received, elapsed), channels, seconds: Number(elapsed.toFixed(1)) };
  } finally {
    await Promise.all([publisher.quit(), subscriber.quit()]).catch(() => undefined);
  }
}

export async function measureLimits(
  sqs: SQSClient,
  settings: LimitsSettings,
  progress: Progress,
): Promise<LimitsResult> {
  const cpu: Record<string, Record<string, number>> = {};
  const clientCpuSeconds: Record<string, number> = {};
  const meter = new CpuMeter({ bench: BENCH_PROCESS, ...SERVICE_GROUPS });
  const measured = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    progress.update(name);
    meter.start();
    const result = await work();
    clientCpuSeconds[name] = meter.cpuSeconds().bench;
    cpu[name] = meter.stop();
    return result;
  };

  const sqsSend = await measured('sqsSend', () => sqsSendRate(sqs, settings.sqsSeconds));
  progress.note(`SQS send ${sqsSend.messagesPerSecond}/s`);
  // sqsOnly pre-fills its own queue, then times receive + delete only.
  const receive = await measured('sqsReceiveDelete', () => sqsOnly(settings.sqsMessages, 8));
  const sqsReceiveDelete = { messagesPerSecond: Number(receive.perSecond), loops: 8, messages: settings.sqsMessages };
  progress.note(`SQS receive+delete ${sqsReceiveDelete.messagesPerSecond}/s`);
  const insert = await measured('postgresInsert', () => dbOnly(settings.dbRows, 8));
  const postgresInsert = {
    rowsPerSecond: Number(insert.perSecond),
    commitsPerSecond: Number(insert.commitsPerSecond),
    rowsPerStatement: 10,
    parallel: 8,
  };
  progress.note(`PostgreSQL insert ${postgresInsert.rowsPerSecond} rows/s`);
  const redisPubSub = await measured('redisPubSub', () => redisPubSubRate(settings.redisSeconds));
  progress.note(`Redis pub/sub ${redisPubSub.messagesPerSecond}/s`);
  const clientCpuMsPerMessage = {
    sqsSend: cpuMsPer(clientCpuSeconds.sqsSend, sqsSend.messages),
    sqsReceiveDelete: cpuMsPer(clientCpuSeconds.sqsReceiveDelete, settings.sqsMessages),
    postgresInsert: cpuMsPer(clientCpuSeconds.postgresInsert, settings.dbRows),
  };
  return { sqsSend, sqsReceiveDelete, postgresInsert, redisPubSub, cpuCoresBusy: cpu, clientCpuMsPerMessage };
}
