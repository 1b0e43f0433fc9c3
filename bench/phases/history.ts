import { Client } from 'pg';
import { MessageStore } from '../../worker/messages/message-store';
import { messageBody, openDatabase } from '../../worker/test/helpers';
import { CpuMeter, SERVICE_GROUPS } from '../lib/cpu';
import { LoadResult, paced, RequestSpec, saturate } from '../lib/load';
import { startApi } from '../lib/processes';
import { BenchContext, sleep } from './common';

/**
 * History: GET .../messages?before=<cursor>&limit=50 on one API process, the replica serving. Conversations
 * are pre-filled on the primary (the worker's own insert), the replica is awaited, then readers page from
 * random cursors (half of the reads are the newest page). pg_stat_database on both servers shows who served.
 */
export interface HistoryResult {
  conversations: number;
  messagesPerConversation: number;
  pageSize: number;
  fixed: LoadResult & { offered: number };
  saturation: LoadResult & { connections: number };
  cpuCoresBusy: Record<string, number>;
  /** Transactions per second on each server during saturation. */
  transactionsPerSecond: { replica: number; primary: number };
  apiCpuMsPerRead: number;
}

const PAGE = 50;

async function transactions(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

async function waitForReplica(primaryUrl: string, replicaUrl: string): Promise<void> {
  const primary = new Client({ connectionString: primaryUrl });
  const replica = new Client({ connectionString: replicaUrl });
  await Promise.all([primary.connect(), replica.connect()]);
  try {
    const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    for (let attempt = 0; attempt < 300; attempt++) {
      const answer = await replica.query<{ caught: boolean }>(
        'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught',
        [rows[0].lsn],
      );
      if (answer.rows[0].caught) return;
      await sleep(50);
    }
    throw new Error('the replica did not catch up within 15 s');
  } finally {
    await Promise.all([primary.end(), replica.end()]);
  }
}

export async function measureHistory(ctx: BenchContext): Promise<HistoryResult> {
  const { settings, progress, fixtures } = ctx;
  const { conversations: count, messagesPerConversation } = settings.history;
  const pairs = fixtures.pairs.slice(0, count);
  progress.update(`pre-filling ${count} conversations x ${messagesPerConversation} messages`);
  const db = await openDatabase();
  const cursors: string[][] = [];
  try {
    const store = new MessageStore(db);
    for (const pair of pairs) {
      const conversation = { id: pair.conversationId, memberIds: [pair.sender.userId, pair.recipient.userId] };
      for (let done = 0; done < messagesPerConversation; done += 10) {
        await store.storeBatch(Array.from({ length: 10 }, () => messageBody(conversation)));
      }
      const rows = await db.query(`SELECT seq::text AS seq FROM messages WHERE conversation_id = $1`, [
        pair.conversationId,
      ]);
      cursors.push(rows.map((row: { seq: string }) => row.seq));
    }
  } finally {
    await db.destroy();
  }
  const primaryUrl = process.env.DATABASE_URL!;
  const replicaUrl = process.env.DATABASE_REPLICA_URLS!.split(',')[0];
  await waitForReplica(primaryUrl, replicaUrl);

  const api = await startApi();
  try {
    let reads = 0;
    const next = (): RequestSpec => {
      const index = reads++ % pairs.length;
      const pair = pairs[index];
      const reader = reads % 2 ? pair.sender : pair.recipient;
      const seqs = cursors[index];
      const before = reads % 2 ? '' : `&before=${seqs[Math.floor(Math.random() * seqs.length)]}`;
      return {
        method: 'GET',
        path: `/v1/conversations/${pair.conversationId}/messages?limit=${PAGE}${before}`,
        headers: { authorization: `Bearer ${reader.token}` },
      };
    };
    progress.update('warm-up');
    await paced(api.url, { rate: 100, seconds: settings.warmupSeconds, maxSockets: 16, okStatus: 200, next });
    const fixed = await paced(api.url, {
      rate: settings.history.fixedRate,
      seconds: settings.phaseSeconds,
      maxSockets: 64,
      okStatus: 200,
      next,
      onTick: (ok) => progress.update(`fixed rate ${settings.history.fixedRate}/s: ${ok} pages`),
    });
    progress.note(`fixed ${fixed.offered}/s: ${fixed.okPerSecond}/s, p95 ${fixed.latencyMs.p95} ms`);

    const meter = new CpuMeter({
      api: { pids: () => [api.pid] },
      bench: { pids: () => [process.pid] },
      ...SERVICE_GROUPS,
    });
    const [replicaBefore, primaryBefore] = await Promise.all([transactions(replicaUrl), transactions(primaryUrl)]);
    meter.start();
    const saturation = await saturate(api.url, {
      connections: settings.history.connections,
      seconds: settings.phaseSeconds,
      okStatus: 200,
      next,
      onTick: (ok) => progress.update(`saturation: ${ok} pages`),
    });
    const cpuCoresBusy = meter.stop();
    const [replicaAfter, primaryAfter] = await Promise.all([transactions(replicaUrl), transactions(primaryUrl)]);
    progress.note(`saturation: ${saturation.okPerSecond} pages/s, p95 ${saturation.latencyMs.p95} ms`);
    return {
      conversations: pairs.length,
      messagesPerConversation,
      pageSize: PAGE,
      fixed,
      saturation: { ...saturation, connections: settings.history.connections },
      cpuCoresBusy,
      transactionsPerSecond: {
        replica: Math.round((replicaAfter - replicaBefore) / saturation.seconds),
        primary: Math.round((primaryAfter - primaryBefore) / saturation.seconds),
      },
      apiCpuMsPerRead: Number(((cpuCoresBusy.api * 1000) / Math.max(1, saturation.okPerSecond)).toFixed(3)),
    };
  } finally {
    await api.stop();
  }
}
