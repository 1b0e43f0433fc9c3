import { RealtimePublisher } from '../realtime/realtime-publisher.service';
import { Global, Module } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { DatabaseService } from './database.service';
import { MessageQueueService } from './message-queue.service';
import { RedisService } from './redis.service';

/** The outside world (PostgreSQL, Redis, SQS, realtime publishing) and the metrics registry, available to every module. */
@Global()
@Module({
  providers: [DatabaseService, RedisService, MessageQueueService, MetricsService, RealtimePublisher],
  exports: [DatabaseService, RedisService, MessageQueueService, MetricsService, RealtimePublisher],
})
export class InfrastructureModule {}
