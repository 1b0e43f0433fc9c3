import { Injectable } from '@nestjs/common';
import { RealtimeEvent } from '../../common/contracts/realtime-events';
import { RedisChannels } from '../../common/redis/keys';
import { RedisService } from '../infrastructure/redis.service';

/**
 * Publishes realtime events to users' channels; whichever instance holds their sockets pushes them.
 * Best effort: with Redis down the event is dropped (state is already stored; clients resync from history).
 */
@Injectable()
export class RealtimePublisher {
  constructor(private readonly redis: RedisService) {}

  async publish(userIds: string[], event: RealtimeEvent): Promise<void> {
    if (userIds.length === 0) return;
    const payload = JSON.stringify(event);
    await this.redis.attempt(`publish ${event.type}`, (redis) => {
      const batch = redis.multi();
      for (const userId of userIds) batch.publish(RedisChannels.user(userId), payload);
      return batch.exec();
    });
  }
}
