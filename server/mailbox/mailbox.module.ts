import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ReceiptsModule } from '../receipts/receipts.module';
import { MailboxController } from './mailbox.controller';
import { MailboxRepository } from './mailbox.repository';
import { MailboxService } from './mailbox.service';

/** Device-to-device mailboxes: send, list, acknowledge (the worker stores and pushes; see worker/mailbox/). */
@Module({
  imports: [AuthModule, ReceiptsModule],
  controllers: [MailboxController],
  providers: [MailboxService, MailboxRepository],
  exports: [MailboxService],
})
export class MailboxModule {}
