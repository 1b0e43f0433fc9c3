import { Injectable } from '@nestjs/common';
import { RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { DatabaseService } from '../infrastructure/database.service';
import { RedisService } from '../infrastructure/redis.service';
import { MetricsService } from '../metrics/metrics.service';

/** Hash value of a revoked session: a tombstone wins over a concurrent re-fill from the database (HSETNX). */
const REVOKED = '0';

/**
 * Sessions: the `sessions` table is the source of truth; `token:{userId}` caches it in Redis as a hash
 * `{jti → expiry (epoch ms)}` with a 3600 s TTL, so each device's login has its own entry and logging out
 * one device does not log out the others.
 *
 * - check: HGET hit → deadline in the future = live, REVOKED = dead; miss → primary (never a replica: a
 *   revocation must be seen at once) and re-fill with HSETNX, so a tombstone written meanwhile is kept.
 * - revoke: the row is marked first, then the field becomes a tombstone; every instance sees it next request.
 * - Redis down: checks go to the database; nothing is cached.
 */
@Injectable()
export class SessionsRepository {
  constructor(
    private readonly db: DatabaseService,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  async create(userId: string, sessionId: string, expiresAt: Date): Promise<void> {
    await this.db.primary('INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)', [
      sessionId,
      userId,
      expiresAt,
    ]);
    await this.redis.attempt('cache session', (redis) =>
      redis
        .transaction(RedisKeys.token(userId))
        .hSet(sessionId, String(expiresAt.getTime()))
        .expire(RedisTtlSeconds.token)
        .exec(),
    );
  }

  async isLive(userId: string, sessionId: string): Promise<boolean> {
    const now = Date.now();
    let cached: string | null | undefined;
    try {
      cached = await this.redis.run('read session', (redis) => redis.hGet(RedisKeys.token(userId), sessionId));
      this.metrics.cache('token', cached == null ? 'miss' : 'hit');
    } catch {
      this.metrics.cache('token', 'error');
      cached = undefined;
    }
    if (cached != null) return Number(cached) > now;

    const { rows } = await this.db.primary<{ expires_at: Date }>(
      'SELECT expires_at FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()',
      [sessionId, userId],
    );
    if (rows.length === 0) return false;
    if (cached === null) {
      await this.redis.attempt('refill session', (redis) =>
        redis
          .transaction(RedisKeys.token(userId))
          .hSetNX(sessionId, String(rows[0].expires_at.getTime()))
          .expire(RedisTtlSeconds.token)
          .exec(),
      );
    }
    return true;
  }

  async revoke(userId: string, sessionId: string): Promise<void> {
    await this.db.primary(
      'UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL',
      [sessionId, userId],
    );
    await this.redis.attempt('revoke session', (redis) =>
      redis.transaction(RedisKeys.token(userId)).hSet(sessionId, REVOKED).expire(RedisTtlSeconds.token).exec(),
    );
  }

  /** Every session of the user (password change). */
  async revokeAll(userId: string): Promise<void> {
    const { rows } = await this.db.primary<{ id: string }>(
      'UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id',
      [userId],
    );
    await this.redis.attempt('revoke sessions', (redis) => {
      const batch = redis.transaction(RedisKeys.token(userId)).del();
      if (rows.length > 0) batch.hSet(Object.fromEntries(rows.map((row) => [row.id, REVOKED])));
      return batch.expire(RedisTtlSeconds.token).exec();
    });
  }
}
