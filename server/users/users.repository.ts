import { Injectable } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { DatabaseService } from '../infrastructure/database.service';
import { RedisService } from '../infrastructure/redis.service';
import { MetricsService } from '../metrics/metrics.service';

/** What anyone may see of a user. */
export class UserProfile {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() username: string;
  @ApiProperty({ nullable: true, type: String }) displayName: string | null;
  @ApiProperty({ description: 'Public identity key, base64' }) identityKey: string;
  @ApiProperty() createdAt: string;
}

interface UserRow {
  id: string;
  username: string;
  display_name: string | null;
  identity_key: string;
  created_at: Date;
}

const PROFILE_COLUMNS = 'id, username, display_name, identity_key, created_at';
const toProfile = (row: UserRow): UserProfile => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
  identityKey: row.identity_key,
  createdAt: row.created_at.toISOString(),
});

/**
 * Users. Profiles are read through `user:{id}` (300 s) and, on a miss, from a replica; a user the replica
 * does not know yet (just registered, replication lag) is looked up on the primary before saying 404.
 * Any change re-caches the profile from the primary after the write (see invalidate).
 */
@Injectable()
export class UsersRepository {
  constructor(
    private readonly db: DatabaseService,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  async create(input: { username: string; passwordHash: string; identityKey: string }): Promise<UserProfile> {
    const { rows } = await this.db.primary<UserRow>(
      `INSERT INTO users (username, password_hash, identity_key) VALUES ($1, $2, $3) RETURNING ${PROFILE_COLUMNS}`,
      [input.username, input.passwordHash, input.identityKey],
    );
    return toProfile(rows[0]);
  }

  /** For login: on the primary (a user who just registered can log in at once). */
  async findCredentials(username: string): Promise<{ profile: UserProfile; passwordHash: string } | undefined> {
    const { rows } = await this.db.primary<UserRow & { password_hash: string }>(
      `SELECT ${PROFILE_COLUMNS}, password_hash FROM users WHERE lower(username) = lower($1)`,
      [username],
    );
    return rows[0] ? { profile: toProfile(rows[0]), passwordHash: rows[0].password_hash } : undefined;
  }

  /** Case-insensitive, as login matches usernames. From the primary: a user registered a moment ago is found. */
  async findProfileByUsername(username: string): Promise<UserProfile | undefined> {
    const { rows } = await this.db.primary<UserRow>(
      `SELECT ${PROFILE_COLUMNS} FROM users WHERE lower(username) = lower($1)`,
      [username],
    );
    return rows[0] ? toProfile(rows[0]) : undefined;
  }

  async findPasswordHash(userId: string): Promise<string | undefined> {
    const { rows } = await this.db.primary<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [
      userId,
    ]);
    return rows[0]?.password_hash;
  }

  async findProfile(userId: string): Promise<UserProfile | undefined> {
    const key = RedisKeys.user(userId);
    let cached: string | null | undefined;
    try {
      cached = await this.redis.run('read profile', (redis) => redis.get(key));
      this.metrics.cache('user', cached == null ? 'miss' : 'hit');
    } catch {
      this.metrics.cache('user', 'error');
    }
    if (cached) return JSON.parse(cached) as UserProfile;

    const query = `SELECT ${PROFILE_COLUMNS} FROM users WHERE id = $1`;
    const row =
      (await this.db.replica<UserRow>(query, [userId])).rows[0] ??
      (await this.db.primary<UserRow>(query, [userId])).rows[0];
    if (!row) return undefined;
    const profile = toProfile(row);
    // NX: a value written by `refresh` (fresh from the primary) is never overwritten by a lagging replica's read.
    if (cached === null)
      await this.redis.attempt('cache profile', (redis) =>
        redis.set(key, JSON.stringify(profile), { EX: RedisTtlSeconds.user, NX: true }),
      );
    return profile;
  }

  /** Which of `ids` exist (primary: they may have registered a moment ago). */
  async existing(ids: string[]): Promise<Set<string>> {
    const { rows } = await this.db.primary<{ id: string }>('SELECT id FROM users WHERE id = ANY($1::uuid[])', [ids]);
    return new Set(rows.map((row) => row.id));
  }

  /** Everyone who shares at least one conversation with the user, the user not included. */
  async contactsOf(userId: string): Promise<string[]> {
    const { rows } = await this.db.primary<{ user_id: string }>(
      `SELECT DISTINCT o.user_id FROM conversation_members m
       JOIN conversation_members o ON o.conversation_id = m.conversation_id
       WHERE m.user_id = $1 AND o.user_id <> $1`,
      [userId],
    );
    return rows.map((row) => row.user_id);
  }

  async update(
    userId: string,
    changes: { displayName?: string | null; identityKey?: string; passwordHash?: string },
  ): Promise<void> {
    const columns: [string, unknown][] = [];
    if (changes.displayName !== undefined) columns.push(['display_name', changes.displayName]);
    if (changes.identityKey !== undefined) columns.push(['identity_key', changes.identityKey]);
    if (changes.passwordHash !== undefined) columns.push(['password_hash', changes.passwordHash]);
    if (columns.length === 0) return;
    const assignments = columns.map(([column], index) => `${column} = $${index + 2}`).join(', ');
    await this.db.primary(`UPDATE users SET ${assignments}, updated_at = now() WHERE id = $1`, [
      userId,
      ...columns.map(([, value]) => value),
    ]);
    await this.invalidate(userId);
  }

  /**
   * After a change: caches the profile as the primary has it now. Deleting instead would let the next miss
   * re-cache a replica's stale copy for the whole TTL.
   */
  async invalidate(userId: string): Promise<void> {
    const { rows } = await this.db.primary<UserRow>(`SELECT ${PROFILE_COLUMNS} FROM users WHERE id = $1`, [userId]);
    const key = RedisKeys.user(userId);
    await this.redis.attempt('refresh profile', async (redis) => {
      if (rows[0]) await redis.set(key, JSON.stringify(toProfile(rows[0])), { EX: RedisTtlSeconds.user });
      else await redis.del(key);
    });
  }
}
