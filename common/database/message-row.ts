import type { MessageView } from '../contracts/realtime-events';

/** A `messages` row as raw SQL returns it (snake_case, seq as text). Server and worker both read these. */
export interface MessageRow {
  id: string;
  /** bigint: pg returns it as text. */
  seq: string;
  conversation_id: string;
  sender_id: string;
  sender_device_id: number;
  client_message_id: string;
  ciphertext: string;
  /** pg returns Date; a row that went through JSON (a CTE's json_agg, a cache) has an ISO string. */
  sent_at: Date | string;
  stored_at: Date | string;
}

/** The API's and the WebSocket's shape of a stored message. */
export function messageView(row: MessageRow): MessageView {
  return {
    id: row.id,
    seq: String(row.seq),
    conversationId: row.conversation_id,
    senderId: row.sender_id,
    senderDeviceId: row.sender_device_id,
    clientMessageId: row.client_message_id,
    ciphertext: row.ciphertext,
    sentAt: new Date(row.sent_at).toISOString(),
    storedAt: new Date(row.stored_at).toISOString(),
  };
}
