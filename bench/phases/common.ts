import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createTestQueues, TestQueues } from '../../worker/test/helpers';
import { Fixtures, Group, Pair } from '../lib/fixtures';
import { RequestSpec } from '../lib/load';
import { Progress } from '../lib/progress';
import { BenchSettings } from '../settings';

/** What every phase gets from run.ts. */
export interface BenchContext {
  settings: BenchSettings;
  progress: Progress;
  fixtures: Fixtures;
  sqs: SQSClient;
}

/** A private messages/notifications/DLQ trio per phase, so no phase drains another's backlog. */
export async function phaseQueues(sqs: SQSClient): Promise<TestQueues & { env: Record<string, string> }> {
  const queues = await createTestQueues(sqs, { visibilityTimeout: 30, maxReceiveCount: 5 });
  return {
    ...queues,
    env: { SQS_MESSAGES_QUEUE_URL: queues.messages, SQS_NOTIFICATIONS_QUEUE_URL: queues.notifications },
  };
}

/** A typical short message: 256 bytes of ciphertext (344 characters of base64). */
export const CIPHERTEXT = randomBytes(256).toString('base64');

/** POST .../messages from a pair's or group's sender: a fresh clientMessageId each time. */
export function sendRequest(pair: Pair | Group, clientMessageId: string = randomUUID()): RequestSpec {
  return {
    method: 'POST',
    path: `/v1/conversations/${pair.conversationId}/messages`,
    headers: { authorization: `Bearer ${pair.sender.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ clientMessageId, ciphertext: CIPHERTEXT }),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Counts messages stored in PostgreSQL (the primary) for some conversations, over one kept connection: phases
 * poll it while they wait for the worker, and a fresh connection per look would cost the server a backend each.
 */
export class StoredMessages {
  private readonly pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 });

  constructor(private readonly conversationIds: string[]) {}

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE conversation_id = ANY($1::uuid[])',
      [this.conversationIds],
    );
    return rows[0].n;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
