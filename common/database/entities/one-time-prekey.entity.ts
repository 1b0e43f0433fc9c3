import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A one-time prekey; handed out once, then deleted in the same statement (see KeysRepository). */
@Entity({ name: 'one_time_prekeys' })
@Index('one_time_prekeys_device_key_key', ['userId', 'deviceId', 'keyId'], { unique: true })
export class OneTimePreKeyEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'device_id', type: 'integer', default: 1 })
  deviceId: number;

  @Column({ name: 'key_id', type: 'integer' })
  keyId: number;

  @Column({ name: 'public_key', type: 'text' })
  publicKey: string;
}
