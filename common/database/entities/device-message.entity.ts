import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A device-to-device message waiting in its recipient device's mailbox until acknowledged or expired. */
@Entity({ name: 'device_messages' })
@Index('device_messages_recipient_idx', ['userId', 'deviceId', 'seq'])
@Index('device_messages_expiry_idx', ['expiresAt'])
export class DeviceMessageEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', insert: false, update: false })
  seq: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'device_id', type: 'integer' })
  deviceId: number;

  @Column({ name: 'sender_id', type: 'uuid' })
  senderId: string;

  @Column({ name: 'sender_device_id', type: 'integer' })
  senderDeviceId: number;

  /** Opaque, pairwise end-to-end encrypted by the sending device, base64. */
  @Column({ type: 'text' })
  ciphertext: string;

  @Column({ name: 'sent_at', type: 'timestamptz' })
  sentAt: Date;

  @Column({ name: 'stored_at', type: 'timestamptz' })
  storedAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
