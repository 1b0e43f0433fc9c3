import { Module } from '@nestjs/common';
import { DeliveryReceipts } from './delivery-receipts.service';
import { ReceiptsRepository } from './receipts.repository';

/** Delivery receipts, for the mailbox (acknowledgements) and history (fetches). */
@Module({
  providers: [DeliveryReceipts, ReceiptsRepository],
  exports: [DeliveryReceipts],
})
export class ReceiptsModule {}
