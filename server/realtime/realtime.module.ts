import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { MailboxModule } from '../mailbox/mailbox.module';
import { PresenceService } from './presence.service';
import { RealtimeGateway } from './realtime.gateway';

@Module({
  imports: [AuthModule, MailboxModule],
  providers: [RealtimeGateway, PresenceService],
  exports: [RealtimeGateway],
})
export class RealtimeModule {}
