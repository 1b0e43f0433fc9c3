import { Inject, Injectable } from '@nestjs/common';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ServerConfig } from '../config/server-config';
import { DatabaseService } from '../infrastructure/database.service';
import { MessageQueueService } from '../infrastructure/message-queue.service';
import { RedisService } from '../infrastructure/redis.service';

export interface CheckResult {
  status: 'up' | 'down';
  latencyMs: number;
  detail?: string;
}

export interface Readiness {
  /** ok: all up; degraded: serving without Redis or a replica (slower, no realtime); down: cannot accept writes. */
  status: 'ok' | 'degraded' | 'down';
  instanceId: string;
  checks: { primary: CheckResult; replica: CheckResult; redis: CheckResult; sqs: CheckResult };
}

const CHECK_TIMEOUT_MS = 2_000;

async function timed(check: () => Promise<string | undefined>): Promise<CheckResult> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      check(),
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)),
      ),
    ]);
    return { status: 'up', latencyMs: Date.now() - started, ...(detail ? { detail } : {}) };
  } catch (error) {
    return { status: 'down', latencyMs: Date.now() - started, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class HealthService {
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });

  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly db: DatabaseService,
    private readonly redis: RedisService,
    private readonly queue: MessageQueueService,
  ) {
    this.loopDelay.enable();
  }

  /** Shallow: this process answers and its event loop is not stuck. No dependency is touched. */
  liveness(): { status: 'ok'; uptimeSeconds: number; eventLoopDelayMs: number } {
    const eventLoopDelayMs = Math.round(this.loopDelay.percentile(99) / 1e6);
    this.loopDelay.reset();
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()), eventLoopDelayMs };
  }

  async readiness(): Promise<Readiness> {
    const replicated = this.hasReplicas();
    const [primary, replica, redis, sqs] = await Promise.all([
      timed(async () => {
        const { rows } = await this.db.primary<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
        if (rows[0].recovery) throw new Error('the primary is in recovery (read-only)');
        return undefined;
      }),
      timed(async () => {
        const { rows } = await this.db.replicaOnly<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
        if (!replicated) return 'no replica configured; reads use the primary';
        if (!rows[0].recovery) throw new Error('the replica is not in recovery: it is not a streaming replica');
        return undefined;
      }),
      timed(async () => {
        await this.redis.run('ping', (client) => client.ping());
        return undefined;
      }),
      timed(async () => {
        await this.queue.ping();
        return undefined;
      }),
    ]);
    const status =
      primary.status === 'down' || sqs.status === 'down'
        ? 'down'
        : replica.status === 'down' || redis.status === 'down'
          ? 'degraded'
          : 'ok';
    return { status, instanceId: this.config.instanceId, checks: { primary, replica, redis, sqs } };
  }

  private hasReplicas(): boolean {
    const replication = (this.config.database as { replication?: { master: unknown; slaves: unknown[] } }).replication;
    return !!replication && replication.slaves.some((slave) => slave !== replication.master);
  }
}
