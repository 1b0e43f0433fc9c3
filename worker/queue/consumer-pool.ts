import { ChangeMessageVisibilityBatchCommand, Message, SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { WorkerLogger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { sentAt } from './attributes';
import { DependencyGate } from './dependency-gate';
import { ReceivePacer } from './receive-pacer';

/**
 * What a batch handler decided: delete these, hand those back to the queue after a delay, and (optionally)
 * these could not be handled because a dependency every message needs is unreachable: not their fault.
 */
export interface BatchOutcome {
  ack: Message[];
  retry: Array<{ message: Message; delaySeconds: number }>;
  unavailable?: { messages: Message[]; error: Error };
}

export type BatchHandler = (messages: Message[]) => Promise<BatchOutcome>;

export interface ConsumerPoolOptions {
  /** Short name for logs and metric labels ("messages", "notifications"). */
  name: string;
  sqs: SQSClient;
  queueUrl: string;
  loops: number;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  handler: BatchHandler;
  logger: WorkerLogger;
  metrics: WorkerMetrics;
  /**
   * Pauses receiving while the handler reports `unavailable`, and holds those messages (the visibility
   * heartbeat keeps them hidden) to handle again when the gate reopens.
   * @default none: unavailable messages are retried after the visibility timeout like any transient failure
   */
  gate?: DependencyGate;
  /**
   * After a receive that was not full, the next waits this long so a few messages gather (ReceivePacer).
   * @default 0: receive again at once
   */
  receiveGatherMs?: number;
}

interface Loop {
  consumer: Consumer;
  /** The batch being worked on, from receive until sqs-consumer has deleted its acknowledged messages. */
  inFlight?: Message[];
  idle: Array<() => void>;
  /** Consecutive failed receives: the next poll waits (sqs-consumer re-polls at once on network errors). */
  receiveFailures: number;
  /** Holds one of the pacer's receive permits: from before ReceiveMessage until it returns. */
  receiving: boolean;
  lastErrorLog: number;
}

/** 200 ms, 400 ms ... capped at 10 s. */
export const receiveBackoffMs = (failures: number) => (failures === 0 ? 0 : Math.min(10_000, 100 * 2 ** failures));

const SQS_BATCH_LIMIT = 10;

const backlogged = (messages: Message[], backlogAge: number, now = Date.now()) =>
  messages.some((message) => now - (sentAt(message) ?? now) > backlogAge);

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

/**
 * Several sqs-consumer receive loops on one queue. Each long-polls up to 10 messages, runs the handler
 * with a visibility heartbeat, deletes exactly what the handler acknowledged, and hands failures back
 * with the delay the handler chose. Stopping is graceful and bounded: see stop().
 */
export class ConsumerPool {
  private readonly loops: Loop[] = [];
  private readonly pacer: ReceivePacer;
  private stopping = false;
  private readonly stopRequested: Promise<void>;
  private requestStop!: () => void;

  constructor(private readonly options: ConsumerPoolOptions) {
    this.stopRequested = new Promise((resolve) => (this.requestStop = resolve));
    this.pacer = new ReceivePacer(options.loops, SQS_BATCH_LIMIT, options.receiveGatherMs ?? 0);
    for (let index = 0; index < options.loops; index++) this.loops.push(this.createLoop(index));
  }

  start(): void {
    for (const loop of this.loops) loop.consumer.start();
    this.options.logger.info({ queue: this.options.name, loops: this.loops.length }, 'consuming');
  }

  /**
   * Stops receiving at once; waits up to `timeoutMs` for batches in flight to be stored and deleted;
   * batches still running then are released (visibility 0) so another worker takes them immediately.
   * Idle long polls are aborted rather than waited for. Messages received after the stop are released.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.requestStop();
    this.pacer.close();
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.loops.map((loop) => this.stopLoop(loop, deadline)));
  }

  private async stopLoop(loop: Loop, deadline: number): Promise<void> {
    loop.consumer.stop();
    if (loop.inFlight) {
      const finished = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
        loop.idle.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!finished && loop.inFlight) {
        this.options.logger.warn(
          { queue: this.options.name, messages: loop.inFlight.length },
          'shutdown timeout: releasing an unfinished batch',
        );
        await this.changeVisibility(loop.inFlight.map((message) => ({ message, delaySeconds: 0 })));
      }
    }
    // Cancels a long poll still waiting for messages; anything it had received comes back after its visibility timeout.
    loop.consumer.abortController?.abort();
  }

  private createLoop(index: number): Loop {
    const { options } = this;
    const loop: Loop = {
      consumer: undefined as unknown as Consumer,
      idle: [],
      receiveFailures: 0,
      receiving: false,
      lastErrorLog: 0,
    };
    const received = (count?: number, behind?: boolean) => {
      if (!loop.receiving) return;
      loop.receiving = false;
      this.pacer.release(count, behind);
    };
    const settle = () => {
      loop.inFlight = undefined;
      for (const notify of loop.idle.splice(0)) notify();
    };
    loop.consumer = Consumer.create({
      queueUrl: options.queueUrl,
      sqs: options.sqs,
      batchSize: SQS_BATCH_LIMIT,
      waitTimeSeconds: options.waitTimeSeconds,
      visibilityTimeout: options.visibilityTimeoutSeconds,
      heartbeatInterval: Math.max(1, Math.floor(options.visibilityTimeoutSeconds / 3)),
      messageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount', 'MessageGroupId'],
      messageAttributeNames: ['All'],
      strictReturn: true,
      // FIFO is handled on purpose: a group's next messages arrive only after these are deleted or released.
      suppressFifoWarning: true,
      preReceiveMessageCallback: async () => {
        // Paused: receive nothing (every receive counts toward the DLQ) until the dependency answers.
        await this.untilOpenOrStopping();
        const wait = receiveBackoffMs(loop.receiveFailures);
        if (wait > 0 && !this.stopping) await new Promise((resolve) => setTimeout(resolve, wait).unref());
        received(); // a permit this loop still held from a receive that never reported back
        await this.pacer.acquire();
        loop.receiving = true;
      },
      handleMessageBatch: async (messages) => {
        received(messages.length, backlogged(messages, this.pacer.backlogAgeMs));
        loop.inFlight = messages;
        options.metrics.received.inc({ queue: options.name }, messages.length);
        if (this.stopping) {
          await this.changeVisibility(messages.map((message) => ({ message, delaySeconds: 0 })));
          return [];
        }
        return this.runHandler(messages);
      },
    });
    // After the handler and the deletion of what it acknowledged (or a failed deletion).
    loop.consumer.on('response_processed', settle);
    const succeeded = () => (loop.receiveFailures = 0);
    loop.consumer.on('empty', () => {
      received(0);
      succeeded();
    });
    loop.consumer.on('message_received', succeeded);
    loop.consumer.on('error', (error, messages) => {
      if (messages === undefined) received();
      // Aborting idle long polls at shutdown is expected, not an error.
      if (this.stopping && /abort/i.test(`${error.name} ${error.message}`)) return;
      if (messages === undefined) loop.receiveFailures++;
      // An outage fails every poll: one line per loop per 10 s, with the count, is enough.
      if (messages === undefined && loop.receiveFailures > 1 && Date.now() - loop.lastErrorLog < 10_000) return;
      loop.lastErrorLog = Date.now();
      options.logger.error(
        {
          queue: options.name,
          loop: index,
          err: error,
          messages: Array.isArray(messages) ? messages.length : undefined,
          consecutiveReceiveFailures: loop.receiveFailures || undefined,
        },
        'queue error',
      );
    });
    return loop;
  }

  private untilOpenOrStopping(): Promise<void> {
    const { gate } = this.options;
    return gate?.paused && !this.stopping ? Promise.race([gate.wait(), this.stopRequested]) : Promise.resolve();
  }

  /**
   * Runs the handler; what it could not handle because the dependency is unreachable is held (sqs-consumer's
   * heartbeat keeps it hidden, its receive count unchanged) and handled again once the gate reopens. Stopping
   * while paused releases what is held at once, so another worker takes it when the dependency is back.
   */
  private async runHandler(messages: Message[]): Promise<Message[]> {
    const { options } = this;
    const acknowledged: Message[] = [];
    let pending = messages;
    for (;;) {
      await this.untilOpenOrStopping();
      if (this.stopping) {
        await this.changeVisibility(pending.map((message) => ({ message, delaySeconds: 0 })));
        return acknowledged;
      }
      const outcome = await this.runOnce(pending);
      acknowledged.push(...outcome.ack);
      const unavailable = outcome.unavailable?.messages ?? [];
      if (unavailable.length === 0) return acknowledged;
      if (!options.gate) {
        await this.changeVisibility(
          unavailable.map((message) => ({ message, delaySeconds: options.visibilityTimeoutSeconds })),
        );
        return acknowledged;
      }
      options.gate.pause(outcome.unavailable!.error);
      if (!options.gate.paused) {
        // The gate is closed (shutting down): nothing to wait for, let another worker take them.
        await this.changeVisibility(unavailable.map((message) => ({ message, delaySeconds: 0 })));
        return acknowledged;
      }
      options.metrics.held.inc({ queue: options.name }, unavailable.length);
      pending = unavailable;
    }
  }

  private async runOnce(messages: Message[]): Promise<BatchOutcome> {
    const { options } = this;
    const stopTimer = options.metrics.batchDuration.startTimer({ queue: options.name });
    try {
      const outcome = await options.handler(messages);
      if (outcome.retry.length > 0) await this.changeVisibility(outcome.retry);
      return outcome;
    } catch (error) {
      // A handler bug or an outage: nothing is acknowledged; the messages reappear after their visibility timeout.
      options.logger.error({ queue: options.name, err: error, messages: messages.length }, 'batch failed');
      options.metrics.failed.inc({ queue: options.name, reason: 'batch' }, messages.length);
      return { ack: [], retry: [] };
    } finally {
      stopTimer();
    }
  }

  /** Best effort: if this fails the messages simply reappear when their current visibility ends. */
  private async changeVisibility(entries: Array<{ message: Message; delaySeconds: number }>): Promise<void> {
    for (const part of chunk(entries, SQS_BATCH_LIMIT)) {
      try {
        await this.options.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: part.map(({ message, delaySeconds }, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(delaySeconds))),
            })),
          }),
        );
      } catch (error) {
        this.options.logger.warn({ queue: this.options.name, err: error }, 'could not change message visibility');
      }
    }
  }
}
