import { Injectable, OnModuleInit, ServiceUnavailableException } from '@nestjs/common';
import { RedisChannels, RedisKeys, RedisTtlSeconds } from '../../common/redis/keys';
import { RedisService } from '../infrastructure/redis.service';
import { ShortLivedCache } from '../infrastructure/short-lived-cache';
import { MetricsService } from '../metrics/metrics.service';
import { encodeMemberEntry, OFFER_MEMBERS_SCRIPT, parseMemberEntry } from './member-entry';

/**
 * How long a change's pending marker lives. It only has to outlast the change's transaction (statements time out
 * after 15 s); if that rolls back, readers go to the database until it expires.
 */
const PENDING_TTL_SECONDS = 60;

/**
 * How long this process serves members it read from Redis without asking again: a member removed on another
 * instance whose drop message was lost can send for at most this long.
 */
export const MEMBERS_MEMORY_MS = 500;

/** Conversations one process sends to within that time, with room; a list holds up to 100 ids (~8 KiB). */
const MEMBERS_MEMORY_ENTRIES = 4_000;

/**
 * `members:{id}`: a conversation's members with the membership version they were read at. Every write is a
 * compare-and-set that keeps the higher version, so a reader refilling the cache with what it read just before a
 * change committed cannot overwrite the change's entry. A change writes a pending marker of its new version before
 * it commits (readers then go to the primary, and older refills are refused) and the final entry after.
 */
@Injectable()
export class MemberCache implements OnModuleInit {
  /** Entries read from Redis a moment ago, by conversation id: see `read`. */
  private readonly recent = new ShortLivedCache<string[]>(MEMBERS_MEMORY_MS, MEMBERS_MEMORY_ENTRIES);
  private listening = false;

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    // Messages missed while the subscriber was away cannot be told apart: start over when it is back.
    this.redis.subscriber.onReady(() => {
      this.recent.clear();
      void this.listen();
    });
    void this.listen();
  }

  /**
   * The cached members; undefined on a miss, a pending change, or Redis unavailable (the database answers). An
   * entry read from Redis is kept in this process for MEMBERS_MEMORY_MS: a change drops it on every instance before
   * it commits (`reserve`), and MEMBERS_MEMORY_MS bounds a drop whose message was lost.
   */
  async read(conversationId: string): Promise<string[] | undefined> {
    const remembered = this.recent.get(conversationId);
    if (remembered) {
      this.metrics.cache('members', 'hit');
      return remembered;
    }
    const ticket = this.recent.begin();
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
    if (!hit) return undefined;
    this.recent.set(conversationId, entry.memberIds, ticket);
    return entry.memberIds;
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
    // From now on Redis answers pending (the primary decides) until the change's own entry is offered.
    this.recent.forget([conversationId]);
    await this.redis.attempt('publish member change', (redis) =>
      redis.publish(RedisChannels.memberChanges, conversationId),
    );
  }

  /** Once: node-redis subscribes the channel again by itself after a reconnect. A failure is retried when ready. */
  private async listen(): Promise<void> {
    if (this.listening) return;
    this.listening = true;
    try {
      await this.redis.subscriber.subscribe(RedisChannels.memberChanges, (conversationId) =>
        this.recent.forget([conversationId]),
      );
    } catch {
      this.listening = false;
    }
  }
}
