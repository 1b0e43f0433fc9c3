import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ConversationsController } from './conversations.controller';
import { ConversationsRepository } from './conversations.repository';
import { ConversationsService } from './conversations.service';
import { MemberCache } from './member-cache';
import { MembersController } from './members.controller';
import { MembershipRepository } from './membership.repository';
import { MembershipService } from './membership.service';

@Module({
  imports: [AuthModule],
  controllers: [ConversationsController, MembersController],
  providers: [ConversationsService, ConversationsRepository, MemberCache, MembershipRepository, MembershipService],
  exports: [ConversationsService, ConversationsRepository],
})
export class ConversationsModule {}
