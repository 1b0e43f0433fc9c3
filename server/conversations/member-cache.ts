import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { RedisService } from '../infrastructure/redis.service';
import { MetricsService } from '../metrics/metrics.service';
import { encodeMemberEntry, OFFER_MEMBERS_SCRIPT, parseMemberEntry } from './member-entry';

/**
 * How long a change's pending marker lives. It only has to outlast the change's transaction (statements time out
 * after 15 s); if that rolls back, readers go to the database until it expires.
 */
const PENDING_TTL_SECONDS = 60;

/**
 * `members:{id}`: a conversation's members with the membership version they were read at. Every write is a
 * compare-and-set that keeps the higher version, so a reader refilling the cache with what it read just before a
 * change committed cannot overwrite the change's entry. A change writes a pending marker of its new version before
 * it commits (readers then go to the primary, and older refills are refused) and the final entry after.
 */
@Injectable()
export class MemberCache {
  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  /** The cached members; undefined on a miss, a pending change, or Redis unavailable (the database answers). */
  async read(conversationId: string): Promise<string[] | undefined> {
    let text: string | null;
    try {
      text = await this.redis.run('read members', (redis) => redis.get(RedisKeys.members(conversationId)));
    } catch {
      this.metrics.cache('members', 'error');
      return undefined;
    }
    const entry = parseMemberEntry(text);
    const hit = entry !== undefined && 'memberIds' in entry;
    this.metrics.cache('members', hit ? 'hit' : 'miss');
    return hit ? entry.memberIds : undefined;
  }

  /** Caches members read at `version` unless a higher version is there; best effort. */
  async offer(conversationId: string, version: string, memberIds: string[]): Promise<void> {
    await this.redis.attempt('cache members', (redis) =>
      redis.eval(OFFER_MEMBERS_SCRIPT, RedisKeys.members(conversationId), [
        version,
        encodeMemberEntry(version, memberIds),
        String(RedisTtlSeconds.members),
      ]),
    );
  }

  /**
   * Before a change to `version` commits: from now on no instance serves the old members from the cache. Throws
   * 503 when Redis cannot take it: a change every instance could not see at once must not happen.
   */
  async reserve(conversationId: string, version: string): Promise<void> {
    try {
      await this.redis.run('reserve members', (redis) =>
        redis.eval(OFFER_MEMBERS_SCRIPT, RedisKeys.members(conversationId), [
          version,
          encodeMemberEntry(version, 'pending'),
          String(PENDING_TTL_SECONDS),
        ]),
      );
    } catch {
      throw new ServiceUnavailableException('membership cannot change while the cache is unavailable; retry');
    }
  }
}
