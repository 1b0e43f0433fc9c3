import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { PresenceService } from './presence.service';
import { RealtimeGateway } from './realtime.gateway';
import { RealtimePublisher } from './realtime-publisher.service';

@Module({
  imports: [AuthModule],
  providers: [RealtimeGateway, RealtimePublisher, PresenceService],
  exports: [RealtimeGateway, RealtimePublisher],
})
export class RealtimeModule {}
