import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { SessionRevocation } from '../../common/contracts/realtime-events';
import { RedisChannels, RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { DatabaseService, Query } from '../infrastructure/database.service';
import { ShortLivedCache } from '../infrastructure/short-lived-cache';
import { RedisService } from '../infrastructure/redis.service';
import { MetricsService } from '../metrics/metrics.service';
import { issueRefreshToken, RefreshTokenParts, sameHash } from './refresh-token';

/** Hash value of a removed device's session: a tombstone wins over a concurrent re-fill from the database (HSETNX). */
const REVOKED = '0';

/**
 * How long this process trusts a session it found live without asking again. Revocation must hold on every
 * instance within a second even when its message is lost: half of that, so the request that raced it is covered.
 */
export const LIVE_SESSION_MEMORY_MS = 500;

/** A session found removed or expired never comes back, so that answer is kept longer and costs nothing to repeat. */
const DEAD_SESSION_MEMORY_MS = 60_000;

/** Enough for every session a busy process sees within the times above; a cap on what a flood can hold. */
const SESSION_MEMORY_ENTRIES = 20_000;

/** Live devices an account may have: each is a fan-out target for every message and sender key sent to it. */
export const MAX_DEVICES_PER_ACCOUNT = 10;
/** How long the refresh token spent last may be presented again as a retry rather than as a stolen copy. */
export const REFRESH_RETRY_SECONDS = 30;

/** Devices that count: not removed, refresh deadline not passed. */
const LIVE_DEVICE = 'd.removed_at IS NULL AND d.refresh_expires_at > now()';
/** Devices made by the upgrade from sessions: the account's next login adopts them. */
const AWAITING_LOGIN = 'removed_at IS NULL AND refresh_token_hash IS NULL AND refresh_expires_at > now()';

/** The account already has MAX_DEVICES_PER_ACCOUNT live devices. */
export class DeviceLimitError extends Error {
  constructor() {
    super(`the account has ${MAX_DEVICES_PER_ACCOUNT} devices, the most it may; remove one first`);
    this.name = 'DeviceLimitError';
  }
}

/** The password changed between the login's check and its device. */
export class PasswordChangedError extends Error {
  constructor() {
    super('the password changed during the login');
    this.name = 'PasswordChangedError';
  }
}

type MirrorChange =
  | { create: { userId: string; sessionId: string; until: Date } }
  | { extend: { sessionId: string; until: Date } }
  | { revoke: string[] };

/**
 * Keeps `sessions` in step with device sessions while the release before devices may still be serving beside this
 * one (a rolling deploy): it checks tokens there on a cache miss. The release after this one drops the table.
 */
async function mirrorSessions(query: Query, change: MirrorChange): Promise<void> {
  if ('create' in change) {
    const { userId, sessionId, until } = change.create;
    await query('INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [
      sessionId,
      userId,
      until,
    ]);
  } else if ('extend' in change) {
    await query('UPDATE sessions SET expires_at = $2 WHERE id = $1 AND revoked_at IS NULL', [
      change.extend.sessionId,
      change.extend.until,
    ]);
  } else if (change.revoke.length > 0) {
    await query('UPDATE sessions SET revoked_at = now() WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL', [
      change.revoke,
    ]);
  }
}

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
  /** Sessions found live a moment ago: refresh deadline by `userId|sessionId`. */
  private readonly recentlyLive = new ShortLivedCache<number>(LIVE_SESSION_MEMORY_MS, SESSION_MEMORY_ENTRIES);
  /** Sessions found removed or expired: a token of one is refused without a round trip. */
  private readonly knownDead = new ShortLivedCache<true>(DEAD_SESSION_MEMORY_MS, SESSION_MEMORY_ENTRIES);

  constructor(
    private readonly db: DatabaseService,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * A login: a device of the user with a first refresh token. A device made by the upgrade from sessions (no refresh
   * token yet) is adopted, keeping its id and keys; otherwise the account's next id is taken, up to
   * MAX_DEVICES_PER_ACCOUNT live devices. `passwordHash` is the hash the login checked: if a password change replaced
   * it meanwhile, nothing is made (the change's removal of other devices could otherwise miss this one). The users row
   * lock serializes an account's logins and its password changes.
   */
  async create(
    userId: string,
    name: string | undefined,
    refreshTtlSeconds: number,
    passwordHash: string,
  ): Promise<IssuedDevice> {
    const sessionId = randomUUID();
    const { token, hash } = issueRefreshToken(sessionId, 0);
    const made = await this.db.transaction(async (query) => {
      const { rows: account } = await query('SELECT 1 FROM users WHERE id = $1 AND password_hash = $2 FOR UPDATE', [
        userId,
        passwordHash,
      ]);
      if (account.length === 0) return 'password-changed' as const;
      const { rows: awaiting } = await query<{ id: number; session_id: string }>(
        `SELECT id, session_id FROM devices WHERE user_id = $1 AND ${AWAITING_LOGIN} ORDER BY id LIMIT 1 FOR UPDATE`,
        [userId],
      );
      if (awaiting[0]) {
        const { rows } = await query<{ id: number; refresh_expires_at: Date }>(
          `UPDATE devices SET session_id = $3, name = coalesce($4, name), refresh_token_hash = $5, last_seen_at = now(),
             refresh_expires_at = now() + make_interval(secs => $6)
           WHERE user_id = $1 AND id = $2 RETURNING id, refresh_expires_at`,
          [userId, awaiting[0].id, sessionId, name ?? null, hash, refreshTtlSeconds],
        );
        await mirrorSessions(query, { revoke: [awaiting[0].session_id] });
        await mirrorSessions(query, { create: { userId, sessionId, until: rows[0].refresh_expires_at } });
        return { ...rows[0], replaced: awaiting[0].session_id };
      }
      const { rows: live } = await query<{ count: string }>(
        `SELECT count(*) FROM devices d WHERE d.user_id = $1 AND ${LIVE_DEVICE}`,
        [userId],
      );
      if (Number(live[0].count) >= MAX_DEVICES_PER_ACCOUNT) return 'full' as const;
      const { rows: taken } = await query<{ id: number }>(
        `UPDATE users SET next_device_id = 1 + coalesce(next_device_id,
           (SELECT coalesce(max(id), 0) + 1 FROM devices d WHERE d.user_id = users.id))
         WHERE id = $1 RETURNING next_device_id - 1 AS id`,
        [userId],
      );
      const { rows } = await query<{ id: number; refresh_expires_at: Date }>(
        `INSERT INTO devices (user_id, id, session_id, name, refresh_token_hash, refresh_expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING id, refresh_expires_at`,
        [userId, taken[0].id, sessionId, name ?? `device ${taken[0].id}`, hash, refreshTtlSeconds],
      );
      await mirrorSessions(query, { create: { userId, sessionId, until: rows[0].refresh_expires_at } });
      return { ...rows[0], replaced: undefined as string | undefined };
    });
    if (made === 'password-changed') throw new PasswordChangedError();
    if (made === 'full') throw new DeviceLimitError();
    await this.cacheLive(userId, sessionId, made.refresh_expires_at);
    if (made.replaced) await this.endSessions(userId, [made.replaced]);
    return { deviceId: made.id, sessionId, refreshToken: token, refreshExpiresAt: made.refresh_expires_at };
  }

  /**
   * Whether the session may act. A live answer is kept in this process for LIVE_SESSION_MEMORY_MS (most requests
   * then cost no round trip); a revocation drops it here at once and on every other instance when they hear it
   * (forgetSessions), and LIVE_SESSION_MEMORY_MS bounds a revocation whose message was lost.
   */
  async isLive(userId: string, sessionId: string): Promise<boolean> {
    const key = `${userId}|${sessionId}`;
    const now = Date.now();
    const remembered = this.recentlyLive.get(key, now);
    if (remembered !== undefined && remembered > now) return true;
    if (this.knownDead.get(key, now)) return false;
    const ticket = this.recentlyLive.begin(now);
    const deadline = await this.liveUntil(userId, sessionId, now);
    if (deadline === undefined) {
      this.knownDead.set(key, true, this.knownDead.begin(now));
      return false;
    }
    this.recentlyLive.set(key, deadline, ticket);
    return true;
  }

  /** Sessions revoked here or on another instance (RedisChannels.sessionRevocations): not live from now on. */
  forgetSessions(userId: string, sessionIds: string[]): void {
    this.recentlyLive.forget(sessionIds.map((sessionId) => `${userId}|${sessionId}`));
  }

  /** The session's refresh deadline (epoch ms) when it is live, from Redis or the primary. */
  private async liveUntil(userId: string, sessionId: string, now: number): Promise<number | undefined> {
    let cached: string | null | undefined;
    try {
      cached = await this.redis.run('read session', (redis) => redis.hGet(RedisKeys.token(userId), sessionId));
      this.metrics.cache('token', cached == null ? 'miss' : 'hit');
    } catch {
      this.metrics.cache('token', 'error');
      cached = undefined;
    }
    if (cached != null) return Number(cached) > now ? Number(cached) : undefined;

    const { rows } = await this.db.primary<{ refresh_expires_at: Date }>(
      `SELECT refresh_expires_at FROM devices
       WHERE session_id = $1 AND user_id = $2 AND removed_at IS NULL AND refresh_expires_at > now()`,
      [sessionId, userId],
    );
    if (rows.length === 0) return undefined;
    const deadline = rows[0].refresh_expires_at.getTime();
    if (cached === null) {
      await this.redis.attempt('refill session', (redis) =>
        redis
          .transaction(RedisKeys.token(userId))
          .hSetNX(sessionId, String(deadline))
          .expire(RedisTtlSeconds.token)
          .exec(),
      );
    }
    return deadline;
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
   * Trades a refresh token for the next one. The presented token must be the device's current one. An older
   * generation means somebody else holds a copy (the thief or the owner, whichever comes second): the device is
   * removed. One exception keeps honest clients: the token spent by the last refresh, presented again within
   * REFRESH_RETRY_SECONDS (a lost answer retried, two tabs refreshing at once), is traded again instead. Each trade
   * moves the device's deadline to `refreshTtlSeconds` from now and counts as the device being seen.
   */
  async rotateRefreshToken(presented: RefreshTokenParts, refreshTtlSeconds: number): Promise<RefreshOutcome> {
    const result = await this.db.transaction(async (query): Promise<RefreshOutcome> => {
      const { rows } = await query<
        DeviceRow & {
          refresh_token_hash: Buffer | null;
          refresh_generation: number;
          previous_refresh_hash: Buffer | null;
          retry_window_open: boolean;
        }
      >(
        `SELECT ${DEVICE_COLUMNS}, refresh_token_hash, refresh_generation, previous_refresh_hash,
                refreshed_at > now() - make_interval(secs => $2) AS retry_window_open
         FROM devices WHERE session_id = $1 AND removed_at IS NULL AND refresh_expires_at > now() FOR UPDATE`,
        [presented.sessionId, REFRESH_RETRY_SECONDS],
      );
      const row = rows[0];
      if (!row || row.refresh_token_hash === null) return { outcome: 'invalid' };
      const current =
        presented.generation === row.refresh_generation && sameHash(row.refresh_token_hash, presented.hash);
      const retried =
        presented.generation === row.refresh_generation - 1 &&
        row.retry_window_open &&
        sameHash(row.previous_refresh_hash, presented.hash);
      if (current || retried) {
        const next = issueRefreshToken(row.session_id, row.refresh_generation + 1);
        const { rows: updated } = await query<{ refresh_expires_at: Date; last_seen_at: Date }>(
          `UPDATE devices SET refresh_token_hash = $3, refresh_generation = refresh_generation + 1,
             previous_refresh_hash = $4, refreshed_at = now(),
             refresh_expires_at = now() + make_interval(secs => $5), last_seen_at = now()
           WHERE user_id = $1 AND id = $2 RETURNING refresh_expires_at, last_seen_at`,
          [row.user_id, row.id, next.hash, presented.hash, refreshTtlSeconds],
        );
        await mirrorSessions(query, { extend: { sessionId: row.session_id, until: updated[0].refresh_expires_at } });
        return {
          outcome: 'rotated',
          device: { ...toRecord(row), lastSeenAt: updated[0].last_seen_at },
          refreshToken: next.token,
          refreshExpiresAt: updated[0].refresh_expires_at,
        };
      }
      // The generation is part of the token, so any older one is recognised however many trades came since.
      if (presented.generation < row.refresh_generation) return { outcome: 'reused', device: toRecord(row) };
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
        `UPDATE devices SET removed_at = now(), refresh_token_hash = NULL, previous_refresh_hash = NULL,
           push_provider = NULL, push_token = NULL
         WHERE user_id = $1 AND ${condition} AND removed_at IS NULL RETURNING ${DEVICE_COLUMNS}`,
        [userId, ...parameters],
      );
      const ids = rows.map((row) => row.id);
      await mirrorSessions(query, { revoke: rows.map((row) => row.session_id) });
      if (ids.length > 0) {
        for (const table of ['one_time_prekeys', 'key_bundles'])
          await query(`DELETE FROM ${table} WHERE user_id = $1 AND device_id = ANY($2::int[])`, [userId, ids]);
        await query('DELETE FROM device_messages WHERE user_id = $1 AND device_id = ANY($2::int[])', [userId, ids]);
      }
      return rows.map(toRecord);
    });
    if (removed.length > 0)
      await this.endSessions(
        userId,
        removed.map((device) => device.sessionId),
      );
    return removed;
  }

  /** Tombstones the sessions in the cache and tells every instance to close their sockets. */
  private async endSessions(userId: string, sessionIds: string[]): Promise<void> {
    this.forgetSessions(userId, sessionIds);
    await this.redis.attempt('revoke sessions', (redis) =>
      redis
        .transaction(RedisKeys.token(userId))
        .hSet(Object.fromEntries(sessionIds.map((id) => [id, REVOKED])))
        .expire(RedisTtlSeconds.token)
        .exec(),
    );
    await this.publishRevocation({ userId, sessionIds });
  }

  private async cacheLive(userId: string, sessionId: string, until: Date): Promise<void> {
    await this.redis.attempt('cache session', (redis) =>
      redis
        .transaction(RedisKeys.token(userId))
        // NX: a write that reaches Redis late (queued behind an outage) must not bring back a revoked session.
        .hSetNX(sessionId, String(until.getTime()))
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
