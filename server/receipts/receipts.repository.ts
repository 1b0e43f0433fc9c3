import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../infrastructure/database.service';

/** A conversation message one device says it received. */
export interface AckedMessage {
  readerId: string;
  readerDeviceId: number;
  messageId: string;
}

/** What a `delivered` event needs about a message and the device that received it. */
export interface Delivery {
  conversationId: string;
  messageId: string;
  senderId: string;
  senderDeviceId: number;
  readerId: string;
  readerDeviceId: number;
}

interface Row {
  reader_id: string;
  reader_device_id: number;
  message_id: string;
  conversation_id: string;
  sender_id: string;
  sender_device_id: number;
}

/** The conversation messages behind acknowledged ids, for delivery receipts. */
@Injectable()
export class ReceiptsRepository {
  constructor(private readonly db: DatabaseService) {}

  /**
   * Of the acknowledged ids, the conversation messages each reader may see (a member of the message's
   * conversation), in one statement for a whole batch of acknowledgements. Ids that are no message, or one the
   * reader cannot see, are left out: an ack reveals nothing. On the primary: a device acknowledges a message as
   * soon as it is pushed, before a replica may have it.
   */
  async visibleMessages(acks: AckedMessage[]): Promise<Delivery[]> {
    if (acks.length === 0) return [];
    const { rows } = await this.db.primary<Row>(
      `SELECT a.reader_id, a.reader_device_id, m.id AS message_id, m.conversation_id, m.sender_id, m.sender_device_id
         FROM unnest($1::uuid[], $2::int[], $3::uuid[]) AS a(reader_id, reader_device_id, message_id)
         JOIN messages m ON m.id = a.message_id
         JOIN conversation_members c ON c.conversation_id = m.conversation_id AND c.user_id = a.reader_id`,
      [acks.map((a) => a.readerId), acks.map((a) => a.readerDeviceId), acks.map((a) => a.messageId)],
    );
    return rows.map((row) => ({
      conversationId: row.conversation_id,
      messageId: row.message_id,
      senderId: row.sender_id,
      senderDeviceId: row.sender_device_id,
      readerId: row.reader_id,
      readerDeviceId: row.reader_device_id,
    }));
  }
}
