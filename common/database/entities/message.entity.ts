import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A stored message. `id` is assigned by the API when it accepts the send (deterministic from sender +
 * client message id, see contracts/message-id.ts); `seq` is assigned by the database at insert and is the
 * history cursor. The unique (sender_id, conversation_id, client_message_id) key makes redelivered queue messages
 * no-ops; a client id is scoped to its conversation.
 */
@Entity({ name: 'messages' })
@Index('messages_sender_conversation_client_id_key', ['senderId', 'conversationId', 'clientMessageId'], {
  unique: true,
})
@Index('messages_conversation_seq_idx', ['conversationId', 'seq'])
export class MessageEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({
    type: 'bigint',
    generated: 'identity',
    generatedIdentity: 'ALWAYS',
    insert: false,
    update: false,
    unique: true,
  })
  seq: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @Column({ name: 'sender_id', type: 'uuid' })
  senderId: string;

  /** The sender's device (its id within the sender's account). */
  @Column({ name: 'sender_device_id', type: 'integer', default: 1 })
  senderDeviceId: number;

  @Column({ name: 'client_message_id', type: 'uuid' })
  clientMessageId: string;

  /** Opaque end-to-end encrypted payload, base64. The server never decrypts it. */
  @Column({ type: 'text' })
  ciphertext: string;

  /** When the API accepted the send. */
  @Column({ name: 'sent_at', type: 'timestamptz' })
  sentAt: Date;

  /** When the worker stored it. */
  @Column({ name: 'stored_at', type: 'timestamptz', default: () => 'now()' })
  storedAt: Date;
}
