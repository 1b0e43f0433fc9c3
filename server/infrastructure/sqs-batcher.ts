import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';

/** SQS limits: 10 entries and 256 KiB of bodies per SendMessageBatch call. */
export const SQS_MAX_BATCH_ENTRIES = 10;
export const SQS_MAX_BATCH_BYTES = 256 * 1024;

/**
 * FIFO queues (names end in `.fifo`) need both on every message: the group orders (one conversation), the
 * deduplication id makes a resend of the same message within five minutes a no-op.
 */
export interface FifoIds {
  groupId: string;
  deduplicationId: string;
}

export const isFifoQueueUrl = (queueUrl: string) => queueUrl.endsWith('.fifo');

export interface SqsBatcherOptions {
  client: Pick<SQSClient, 'send'>;
  queueUrl: string;
  /** Longest a message waits for companions before its batch goes out, when sends are sparse. */
  maxDelayMs: number;
  /**
   * Longest a batch may wait when sends arrive often enough to fill it (default: maxDelayMs, no lingering). Each
   * SendMessageBatch call costs the API about as much CPU as the messages in it: at a moderate rate, batches that
   * leave after maxDelayMs hold one or two messages.
   */
  maxLingerMs?: number;
  /** Called after every batch, for metrics. */
  onBatch?: (size: number, seconds: number, outcome: 'ok' | 'partial' | 'error') => void;
}

export class QueueSendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueSendError';
  }
}

interface Pending {
  id: string;
  body: string;
  fifo?: FifoIds;
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Coalesces concurrent sends into SendMessageBatch calls: a batch leaves when it holds 10 messages, when the
 * next one would push it past 256 KiB, or `maxDelayMs` after its first message. Each `send` resolves only
 * when SQS has confirmed that message (so "202 accepted" means durable), and rejects on its own failure.
 */
export class SqsBatcher {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private sequence = 0;
  private closed = false;
  /** Mean time between sends (ms), a moving average: how long a batch would take to fill. */
  private meanGapMs = 1_000;
  private lastSendAt = 0;

  constructor(private readonly options: SqsBatcherOptions) {}

  /**
   * On a FIFO queue `fifo` is required. Entries keep their call order within a SendMessageBatch, so two sends
   * in one group from one caller, the second after the first resolved, are delivered in that order.
   */
  send(body: string, fifo?: FifoIds): Promise<void> {
    if (this.closed) return Promise.reject(new QueueSendError('queue producer is shutting down'));
    if (isFifoQueueUrl(this.options.queueUrl) && !fifo)
      return Promise.reject(new QueueSendError('a FIFO queue needs a message group and deduplication id'));
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes > SQS_MAX_BATCH_BYTES)
      return Promise.reject(new QueueSendError(`message of ${bytes} bytes exceeds the SQS limit`));
    this.observeArrival();
    return new Promise<void>((resolve, reject) => {
      if (this.pendingBytes + bytes > SQS_MAX_BATCH_BYTES) this.dispatch();
      this.pending.push({ id: String(this.sequence++ % 1_000_000), body, fifo, bytes, resolve, reject });
      this.pendingBytes += bytes;
      if (this.pending.length >= SQS_MAX_BATCH_ENTRIES) this.dispatch();
      else if (!this.timer) this.timer = setTimeout(() => this.dispatch(), this.delayMs());
    });
  }

  /**
   * How long a batch opened now waits: long enough to fill at the current rate, up to maxLingerMs, when at least
   * two more sends are expected by then; otherwise maxDelayMs (waiting longer would only add latency).
   */
  private delayMs(): number {
    const { maxDelayMs, maxLingerMs = maxDelayMs } = this.options;
    if (maxLingerMs <= maxDelayMs || maxLingerMs / this.meanGapMs < 2) return maxDelayMs;
    return Math.max(maxDelayMs, Math.min(maxLingerMs, (SQS_MAX_BATCH_ENTRIES - 1) * this.meanGapMs));
  }

  private observeArrival(): void {
    const now = performance.now();
    const gap = Math.min(1_000, now - this.lastSendAt);
    this.lastSendAt = now;
    this.meanGapMs += (gap - this.meanGapMs) / 4;
  }

  /** Sends whatever is waiting and resolves when every batch in flight has an answer. */
  async flush(): Promise<void> {
    this.dispatch();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Refuses new sends, then flushes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const sending = this.sendBatch(batch).finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await this.options.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: batch.map((entry) => ({
            Id: entry.id,
            MessageBody: entry.body,
            ...(entry.fifo
              ? { MessageGroupId: entry.fifo.groupId, MessageDeduplicationId: entry.fifo.deduplicationId }
              : {}),
          })),
        }),
      );
      const ok = new Set((result.Successful ?? []).map((entry) => entry.Id));
      const failures = new Map(
        (result.Failed ?? []).map((entry) => [entry.Id, `${entry.Code ?? 'error'}: ${entry.Message ?? ''}`]),
      );
      for (const entry of batch) {
        if (ok.has(entry.id)) entry.resolve();
        else
          entry.reject(
            new QueueSendError(`SQS refused the message (${failures.get(entry.id) ?? 'no answer for this entry'})`),
          );
      }
      this.options.onBatch?.(batch.length, seconds(), ok.size === batch.length ? 'ok' : 'partial');
    } catch (error) {
      for (const entry of batch) entry.reject(new QueueSendError(`SQS send failed: ${(error as Error).message}`));
      this.options.onBatch?.(batch.length, seconds(), 'error');
    }
  }
}
