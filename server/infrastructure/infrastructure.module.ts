import { Global, Module } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { DatabaseService } from './database.service';
import { MessageQueueService } from './message-queue.service';
import { RedisService } from './redis.service';

/** The outside world (PostgreSQL, Redis, SQS) and the metrics registry, available to every module. */
@Global()
@Module({
  providers: [DatabaseService, RedisService, MessageQueueService, MetricsService],
  exports: [DatabaseService, RedisService, MessageQueueService, MetricsService],
})
export class InfrastructureModule {}
