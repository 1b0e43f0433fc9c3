import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { SessionRevocation } from '../../common/contracts/realtime-events';
import { RedisChannels, RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { DatabaseService } from '../infrastructure/database.service';
import { RedisService } from '../infrastructure/redis.service';
import { MetricsService } from '../metrics/metrics.service';
import { issueRefreshToken, RefreshTokenParts, RETIRED_REFRESH_TOKENS_KEPT, sameHash } from './refresh-token';

/** Hash value of a removed device's session: a tombstone wins over a concurrent re-fill from the database (HSETNX). */
const REVOKED = '0';

export interface DeviceRecord {
  userId: string;
  id: number;
  sessionId: string;
  name: string;
  createdAt: Date;
  lastSeenAt: Date;
}

export interface IssuedDevice {
  deviceId: number;
  sessionId: string;
  refreshToken: string;
  refreshExpiresAt: Date;
}

/** What a presented refresh token turned out to be. */
export type RefreshOutcome =
  | { outcome: 'rotated'; device: DeviceRecord; refreshToken: string; refreshExpiresAt: Date }
  /** A retired token came back: somebody else holds a copy. The device has been removed. */
  | { outcome: 'reused'; device: DeviceRecord }
  | { outcome: 'invalid' };

interface DeviceRow {
  user_id: string;
  id: number;
  session_id: string;
  name: string;
  created_at: Date;
  last_seen_at: Date;
}

const DEVICE_COLUMNS = 'user_id, id, session_id, name, created_at, last_seen_at';
const toRecord = (row: DeviceRow): DeviceRecord => ({
  userId: row.user_id,
  id: row.id,
  sessionId: row.session_id,
  name: row.name,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
});

/**
 * Devices and their sessions. The `devices` table is the source of truth; `token:{userId}` caches which device
 * sessions are live as a hash `{sessionId → refresh deadline (epoch ms)}` with a 3600 s TTL.
 *
 * - check: HGET hit → deadline in the future = live, REVOKED = removed; miss → primary (never a replica: a removal
 *   must be seen at once) and re-fill with HSETNX, so a tombstone written meanwhile is kept.
 * - remove: the row is marked first, then the field becomes a tombstone; every instance sees it next request.
 *   Then the revocation is published (RedisChannels.sessionRevocations) so every instance closes the device's
 *   sockets at once; with Redis down the gateways find out by re-checking their sockets' sessions.
 * - Redis down: checks go to the database; nothing is cached.
 */
@Injectable()
export class DevicesRepository {
  constructor(
    private readonly db: DatabaseService,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  /** A new device of the user, with the next id of the account and a first refresh token. */
  async create(userId: string, name: string | undefined, refreshTtlSeconds: number): Promise<IssuedDevice> {
    const sessionId = randomUUID();
    const { token, hash } = issueRefreshToken(sessionId, 0);
    const { id, refresh_expires_at } = await this.db.transaction(async (query) => {
      const { rows: taken } = await query<{ id: number }>(
        'UPDATE users SET next_device_id = next_device_id + 1 WHERE id = $1 RETURNING next_device_id - 1 AS id',
        [userId],
      );
      const { rows } = await query<{ id: number; refresh_expires_at: Date }>(
        `INSERT INTO devices (user_id, id, session_id, name, refresh_token_hash, refresh_expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING id, refresh_expires_at`,
        [userId, taken[0].id, sessionId, name ?? `device ${taken[0].id}`, hash, refreshTtlSeconds],
      );
      return rows[0];
    });
    await this.cacheLive(userId, sessionId, refresh_expires_at);
    return { deviceId: id, sessionId, refreshToken: token, refreshExpiresAt: refresh_expires_at };
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

    const { rows } = await this.db.primary<{ refresh_expires_at: Date }>(
      `SELECT refresh_expires_at FROM devices
       WHERE session_id = $1 AND user_id = $2 AND removed_at IS NULL AND refresh_expires_at > now()`,
      [sessionId, userId],
    );
    if (rows.length === 0) return false;
    if (cached === null) {
      await this.redis.attempt('refill session', (redis) =>
        redis
          .transaction(RedisKeys.token(userId))
          .hSetNX(sessionId, String(rows[0].refresh_expires_at.getTime()))
          .expire(RedisTtlSeconds.token)
          .exec(),
      );
    }
    return true;
  }

  /** The device a session belongs to (tokens issued before devices existed carry no device id). */
  async deviceOfSession(userId: string, sessionId: string): Promise<number | undefined> {
    const { rows } = await this.db.primary<{ id: number }>(
      'SELECT id FROM devices WHERE session_id = $1 AND user_id = $2 AND removed_at IS NULL',
      [sessionId, userId],
    );
    return rows[0]?.id;
  }

  /**
   * Trades a refresh token for the next one. The presented token must be the device's current one; a retired one
   * removes the device (someone else has a copy), anything else is invalid. Each rotation moves the device's
   * deadline to `refreshTtlSeconds` from now and counts as the device being seen.
   */
  async rotateRefreshToken(presented: RefreshTokenParts, refreshTtlSeconds: number): Promise<RefreshOutcome> {
    const result = await this.db.transaction(async (query): Promise<RefreshOutcome> => {
      const { rows } = await query<
        DeviceRow & { refresh_token_hash: Buffer | null; refresh_generation: number; retired_refresh_hashes: Buffer[] }
      >(
        `SELECT ${DEVICE_COLUMNS}, refresh_token_hash, refresh_generation, retired_refresh_hashes FROM devices
         WHERE session_id = $1 AND removed_at IS NULL AND refresh_expires_at > now() FOR UPDATE`,
        [presented.sessionId],
      );
      const row = rows[0];
      if (!row) return { outcome: 'invalid' };
      if (presented.generation === row.refresh_generation && sameHash(row.refresh_token_hash, presented.hash)) {
        const next = issueRefreshToken(row.session_id, row.refresh_generation + 1);
        const retired = [presented.hash, ...row.retired_refresh_hashes].slice(0, RETIRED_REFRESH_TOKENS_KEPT);
        const { rows: updated } = await query<{ refresh_expires_at: Date; last_seen_at: Date }>(
          `UPDATE devices SET refresh_token_hash = $3, refresh_generation = refresh_generation + 1,
             retired_refresh_hashes = $4, refresh_expires_at = now() + make_interval(secs => $5), last_seen_at = now()
           WHERE user_id = $1 AND id = $2 RETURNING refresh_expires_at, last_seen_at`,
          [row.user_id, row.id, next.hash, retired, refreshTtlSeconds],
        );
        return {
          outcome: 'rotated',
          device: { ...toRecord(row), lastSeenAt: updated[0].last_seen_at },
          refreshToken: next.token,
          refreshExpiresAt: updated[0].refresh_expires_at,
        };
      }
      if (row.retired_refresh_hashes.some((hash) => sameHash(hash, presented.hash)))
        return { outcome: 'reused', device: toRecord(row) };
      return { outcome: 'invalid' };
    });
    // Drop the cached deadline rather than overwrite it: a removal that raced with this rotation (its tombstone
    // removed here) still wins at the primary on the next check.
    if (result.outcome === 'rotated')
      await this.redis.attempt('forget session deadline', (redis) =>
        redis.hDel(RedisKeys.token(result.device.userId), result.device.sessionId),
      );
    if (result.outcome === 'reused') await this.remove(result.device.userId, result.device.id);
    return result;
  }

  /** The user's devices that are not removed, oldest first. */
  async list(userId: string): Promise<DeviceRecord[]> {
    const { rows } = await this.db.primary<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices WHERE user_id = $1 AND removed_at IS NULL AND refresh_expires_at > now()
       ORDER BY id`,
      [userId],
    );
    return rows.map(toRecord);
  }

  /**
   * Removes a device for good: its tokens stop working, its keys, mailbox and push token are deleted, and every
   * instance closes its sockets. Answers the removed device, or undefined when it was not a live device of the user.
   */
  async remove(userId: string, deviceId: number): Promise<DeviceRecord | undefined> {
    return (await this.removeWhere(userId, 'id = $2', [deviceId]))[0];
  }

  /** Every device of the user but `keep` (a password change: whoever else knew the password is out). */
  async removeAllBut(userId: string, keep: number | undefined): Promise<DeviceRecord[]> {
    return this.removeWhere(userId, 'id <> $2', [keep ?? 0]);
  }

  private async removeWhere(userId: string, condition: string, parameters: unknown[]): Promise<DeviceRecord[]> {
    const removed = await this.db.transaction(async (query) => {
      const { rows } = await query<DeviceRow>(
        `UPDATE devices SET removed_at = now(), refresh_token_hash = NULL, retired_refresh_hashes = '{}',
           push_provider = NULL, push_token = NULL
         WHERE user_id = $1 AND ${condition} AND removed_at IS NULL RETURNING ${DEVICE_COLUMNS}`,
        [userId, ...parameters],
      );
      const ids = rows.map((row) => row.id);
      if (ids.length > 0) {
        for (const table of ['one_time_prekeys', 'key_bundles'])
          await query(`DELETE FROM ${table} WHERE user_id = $1 AND device_id = ANY($2::int[])`, [userId, ids]);
        await query('DELETE FROM device_messages WHERE user_id = $1 AND device_id = ANY($2::int[])', [userId, ids]);
      }
      return rows.map(toRecord);
    });
    if (removed.length === 0) return removed;
    const sessionIds = removed.map((device) => device.sessionId);
    await this.redis.attempt('revoke sessions', (redis) =>
      redis
        .transaction(RedisKeys.token(userId))
        .hSet(Object.fromEntries(sessionIds.map((id) => [id, REVOKED])))
        .expire(RedisTtlSeconds.token)
        .exec(),
    );
    await this.publishRevocation({ userId, sessionIds });
    return removed;
  }

  private async cacheLive(userId: string, sessionId: string, until: Date): Promise<void> {
    await this.redis.attempt('cache session', (redis) =>
      redis
        .transaction(RedisKeys.token(userId))
        .hSet(sessionId, String(until.getTime()))
        .expire(RedisTtlSeconds.token)
        .exec(),
    );
  }

  /** Best effort: a lost message is caught by the gateways' re-check while their subscription is down. */
  private async publishRevocation(revocation: SessionRevocation): Promise<void> {
    await this.redis.attempt('publish revocation', (redis) =>
      redis.publish(RedisChannels.sessionRevocations, JSON.stringify(revocation)),
    );
  }
}
