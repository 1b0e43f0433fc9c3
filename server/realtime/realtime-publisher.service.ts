import { Injectable } from '@nestjs/common';
import { deviceTargeted, RealtimeEvent } from '../../common/contracts/realtime-events';
import { RedisChannels } from '../../common/redis/keys';
import { RedisService } from '../infrastructure/redis.service';

/**
 * Publishes realtime events to users' channels; whichever instance holds their sockets pushes them.
 * One PUBLISH (SPUBLISH in cluster mode) per user, in parallel: channels of different users live in
 * different slots, so they cannot share a MULTI; node-redis pipelines them per node.
 * Best effort: with Redis down the event is dropped (state is already stored; clients resync from history).
 */
@Injectable()
export class RealtimePublisher {
  constructor(private readonly redis: RedisService) {}

  async publish(userIds: string[], event: RealtimeEvent): Promise<void> {
    if (userIds.length === 0) return;
    const payload = JSON.stringify(event);
    await this.redis.attempt(`publish ${event.type}`, (redis) =>
      Promise.all([...new Set(userIds)].map((userId) => redis.publish(RedisChannels.user(userId), payload))),
    );
  }

  /**
   * Several events, each to one user's devices, in one round: every PUBLISH is issued in the same tick, so
   * node-redis pipelines them (per shard in cluster mode). Answers how many were published.
   */
  async publishEach(deliveries: Array<{ userId: string; event: RealtimeEvent }>): Promise<number> {
    if (deliveries.length === 0) return 0;
    const published = await this.redis.attempt(`publish ${deliveries[0].event.type}`, (redis) =>
      Promise.all(
        deliveries.map(({ userId, event }) => redis.publish(RedisChannels.user(userId), JSON.stringify(event))),
      ),
    );
    return published === undefined ? 0 : deliveries.length;
  }

  /** To given devices only (each device's sockets, wherever they are); the user's other devices do not see it. */
  async publishToDevices(devices: Array<{ userId: string; deviceId: number }>, event: RealtimeEvent): Promise<void> {
    if (devices.length === 0) return;
    const payload = JSON.stringify(event);
    await this.redis.attempt(`publish ${event.type}`, (redis) =>
      Promise.all(
        devices.map(({ userId, deviceId }) =>
          redis.publish(RedisChannels.user(userId), deviceTargeted(deviceId, payload)),
        ),
      ),
    );
  }
}
