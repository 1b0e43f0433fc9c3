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
