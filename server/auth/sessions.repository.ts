import { Injectable } from '@nestjs/common';
import type { SessionRevocation } from '../../common/contracts/realtime-events';
import { RedisChannels, RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
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
 *   Then the revocation is published (RedisChannels.sessionRevocations) so every instance closes the session's
 *   sockets at once; with Redis down the gateways find out by re-checking their sockets' sessions.
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

  /** Ends one session; false when it was not a live session of this user. */
  async revoke(userId: string, sessionId: string): Promise<boolean> {
    const { rows } = await this.db.primary<{ id: string }>(
      'UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id',
      [sessionId, userId],
    );
    await this.redis.attempt('revoke session', (redis) =>
      redis.transaction(RedisKeys.token(userId)).hSet(sessionId, REVOKED).expire(RedisTtlSeconds.token).exec(),
    );
    await this.publishRevocation({ userId, sessionIds: [sessionId] });
    return rows.length > 0;
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
    if (rows.length > 0) await this.publishRevocation({ userId, sessionIds: rows.map((row) => row.id) });
  }

  /** The user's live sessions, newest first. */
  async listLive(userId: string): Promise<{ id: string; createdAt: Date; expiresAt: Date }[]> {
    const { rows } = await this.db.primary<{ id: string; created_at: Date; expires_at: Date }>(
      `SELECT id, created_at, expires_at FROM sessions
       WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC`,
      [userId],
    );
    return rows.map((row) => ({ id: row.id, createdAt: row.created_at, expiresAt: row.expires_at }));
  }

  /**
   * Moves a live session's expiry to `expiresAt` (a refreshed access token), never past `maxLifetimeSeconds` after
   * the login: a stolen token cannot keep itself alive forever. Answers the new expiry, or undefined when the
   * session is not live.
   */
  async extend(
    userId: string,
    sessionId: string,
    expiresAt: Date,
    maxLifetimeSeconds: number,
  ): Promise<Date | undefined> {
    const { rows } = await this.db.primary<{ expires_at: Date }>(
      `UPDATE sessions SET expires_at = LEAST($3::timestamptz, created_at + make_interval(secs => $4))
       WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now() RETURNING expires_at`,
      [sessionId, userId, expiresAt, maxLifetimeSeconds],
    );
    if (rows.length === 0) return undefined;
    const until = rows[0].expires_at;
    // Drop the cached deadline rather than overwrite it: the next check re-reads the primary, so a revocation that
    // raced with this refresh (its tombstone removed here) still wins there.
    await this.redis.attempt('extend session', (redis) => redis.hDel(RedisKeys.token(userId), sessionId));
    return until;
  }

  /** Best effort: a lost message is caught by the gateways' re-check while their subscription is down. */
  private async publishRevocation(revocation: SessionRevocation): Promise<void> {
    await this.redis.attempt('publish revocation', (redis) =>
      redis.publish(RedisChannels.sessionRevocations, JSON.stringify(revocation)),
    );
  }
}
