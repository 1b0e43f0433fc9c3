import { Inject, Injectable, Logger } from '@nestjs/common';
import { RedisKeys } from '../../common/redis/keys';
import { isOnlineFromHash, PRESENCE_TTL_MS, presenceField } from '../../common/redis/presence';
import { ServerConfig } from '../config/server-config';
import { DatabaseService } from '../infrastructure/database.service';
import { RedisService } from '../infrastructure/redis.service';
import { RealtimePublisher } from './realtime-publisher.service';

/** The devices of one user that have sockets on this instance. */
export interface LocalDevices {
  userId: string;
  deviceIds: number[];
}

/**
 * This instance's presence fields (format in common/redis/presence.ts): the gateway says when a device's first
 * socket here opens and last one closes, and refreshes them every heartbeat. Contacts are told when a user comes
 * online anywhere or goes offline everywhere (devices are the worker's concern: which ones to push). Best effort:
 * with Redis down nothing is written or told.
 */
@Injectable()
export class PresenceService {
  private readonly logger = new Logger(PresenceService.name);

  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly redis: RedisService,
    private readonly db: DatabaseService,
    private readonly publisher: RealtimePublisher,
  ) {}

  /** Marks this instance as holding the device; tells the user's contacts when the user was offline until now. */
  async join(userId: string, deviceId: number): Promise<void> {
    const field = this.field(deviceId);
    const result = await this.redis.attempt('presence join', (redis) =>
      redis
        .transaction(RedisKeys.presence(userId))
        .hGetAll()
        .hSet(field, String(Date.now() + PRESENCE_TTL_MS))
        .pExpire(PRESENCE_TTL_MS)
        .exec(),
    );
    if (!result) return;
    const before = { ...(result[0] as unknown as Record<string, string>) };
    delete before[field];
    if (!isOnlineFromHash(before)) await this.tellContacts(userId, true);
  }

  /**
   * This instance no longer holds the device; tells the user's contacts when nothing holds the user any more,
   * unless the caller knows the user still has sockets here (`tellContacts: false`).
   */
  async leave(userId: string, deviceId: number, options: { tellContacts?: boolean } = {}): Promise<void> {
    const result = await this.redis.attempt('presence leave', (redis) =>
      redis.transaction(RedisKeys.presence(userId)).hDel(this.field(deviceId)).hGetAll().exec(),
    );
    if (options.tellContacts === false) return;
    if (result && !isOnlineFromHash(result[1] as unknown as Record<string, string>))
      await this.tellContacts(userId, false);
  }

  /** Heartbeat: one small transaction per user (their keys are in different slots), all pipelined in one tick. */
  async refresh(users: LocalDevices[]): Promise<void> {
    if (users.length === 0) return;
    const deadline = String(Date.now() + PRESENCE_TTL_MS);
    await this.redis.attempt('presence refresh', (redis) =>
      Promise.all(
        users.map(({ userId, deviceIds }) =>
          redis
            .transaction(RedisKeys.presence(userId))
            .hSet(Object.fromEntries(deviceIds.map((deviceId) => [this.field(deviceId), deadline])))
            .pExpire(PRESENCE_TTL_MS)
            .exec(),
        ),
      ),
    );
  }

  /** Shutdown: drops this instance's fields without telling anyone (clients reconnect elsewhere at once). */
  async dropAll(users: LocalDevices[]): Promise<void> {
    if (users.length === 0) return;
    await this.redis.attempt('presence shutdown', (redis) =>
      Promise.all(
        users.map(({ userId, deviceIds }) => {
          const transaction = redis.transaction(RedisKeys.presence(userId));
          for (const deviceId of deviceIds) transaction.hDel(this.field(deviceId));
          return transaction.exec();
        }),
      ),
    );
  }

  private field(deviceId: number): string {
    return presenceField(this.config.instanceId, deviceId);
  }

  private async tellContacts(userId: string, online: boolean): Promise<void> {
    try {
      const { rows } = await this.db.replica<{ user_id: string }>(
        `SELECT DISTINCT other.user_id FROM conversation_members mine
         JOIN conversation_members other ON other.conversation_id = mine.conversation_id
         WHERE mine.user_id = $1 AND other.user_id <> $1`,
        [userId],
      );
      await this.publisher.publish(
        rows.map((row) => row.user_id),
        { type: 'presence', userId, online, at: new Date().toISOString() },
      );
    } catch (error) {
      this.logger.warn(`presence of ${userId} not published: ${(error as Error).message}`);
    }
  }
}
