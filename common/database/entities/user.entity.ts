import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** As the user typed it; unique case-insensitively (index on lower(username), see the initial migration). */
  @Column({ type: 'varchar', length: 32 })
  username: string;

  @Column({ name: 'display_name', type: 'varchar', length: 64, nullable: true })
  displayName: string | null;

  /** argon2id hash; never leaves the server. */
  @Column({ name: 'password_hash', type: 'text', select: false })
  passwordHash: string;

  /** Long-term public identity key (base64), the root of the user's key bundle. */
  @Column({ name: 'identity_key', type: 'text' })
  identityKey: string;

  /** The id the account's next device gets; device ids are never reused. Null until the first after the upgrade. */
  @Column({ name: 'next_device_id', type: 'integer', nullable: true })
  nextDeviceId: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
