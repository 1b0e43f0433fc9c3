import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Writable } from 'node:stream';
import type { ServerApp } from '../../server/bootstrap';
import { startServer } from '../../server/test/helpers';
import { createLogger, WorkerLogger } from '../observability/logger';
import { createWorker, Worker } from '../worker';
import { createTestQueues, queueEnv, TestQueues, testSqs, workerEnv } from './helpers';

/** What a suite that records every boundary (client/test/capture.ts) gives the stack. */
export interface StackCapture {
  /** A recording proxy in front of the SQS server. */
  readonly sqsEndpoint: string;
  logStream(name: string): Writable;
  workerLogger(): WorkerLogger;
}

/**
 * The deployed shape: two API instances and the worker on private queues, sharing PostgreSQL (primary + replica) and
 * Redis. With a capture, the API instances and the worker reach SQS only through its recording proxy and log at
 * debug into it.
 */
export interface Stack {
  servers: ServerApp[];
  worker: Worker;
  stop(): Promise<void>;
}

export async function startStack(capture?: StackCapture): Promise<Stack> {
  const sqs: SQSClient = testSqs();
  const queues: TestQueues = await createTestQueues(sqs, { visibilityTimeout: 10, maxReceiveCount: 5 });
  // The queue URLs stay the SQS server's (it knows its queues by them); with an explicit endpoint the AWS SDK sends
  // every request to the endpoint, the recording proxy, whatever host a queue URL names.
  const sqsEnv: Record<string, string> = {
    SQS_MESSAGES_QUEUE_URL: queues.messages,
    SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications,
    ...(capture ? { SQS_ENDPOINT: capture.sqsEndpoint } : {}),
  };
  // nestjs-pino keeps one root logger per process (the first app's): both instances log into the first stream, so
  // they share one.
  const apiLogs = capture?.logStream('api');
  const servers: ServerApp[] = [];
  let worker: Worker | undefined;
  const stop = async () => {
    await worker?.stop();
    await Promise.all(servers.map((server) => server.shutdown()));
    await queues.remove();
    sqs.destroy();
  };
  try {
    const options = { env: sqsEnv, ...(apiLogs ? { logLevel: 'debug' as const, logStream: apiLogs } : {}) };
    servers.push(await startServer(options));
    servers.push(await startServer(options));
    worker = await createWorker(
      workerEnv({ ...queueEnv(queues), ...sqsEnv }),
      capture ? capture.workerLogger() : createLogger('silent'),
    );
    worker.start();
    return { servers, worker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
