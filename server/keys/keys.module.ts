import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { RealtimeModule } from '../realtime/realtime.module';
import { KeysController } from './keys.controller';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';

@Module({
  imports: [AuthModule, ConversationsModule, RealtimeModule],
  controllers: [KeysController],
  providers: [KeysService, KeysRepository],
})
export class KeysModule {}
