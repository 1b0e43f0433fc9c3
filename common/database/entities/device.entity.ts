import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One device of an account (a login is a device). `id` counts up per account and is never reused; a removed device
 * keeps its row (removed_at) so its id stays taken. `session_id` is the jti of the device's access tokens: token
 * checks, revocations and sockets key on it.
 */
@Entity({ name: 'devices' })
@Index('devices_session_id_key', ['sessionId'], { unique: true })
export class DeviceEntity {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @PrimaryColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt: Date;

  @Column({ name: 'removed_at', type: 'timestamptz', nullable: true })
  removedAt: Date | null;

  /** SHA-256 of the current refresh token; null once the device is removed, or before its first login (upgrade). */
  @Column({ name: 'refresh_token_hash', type: 'bytea', nullable: true, select: false })
  refreshTokenHash: Buffer | null;

  @Column({ name: 'refresh_generation', type: 'integer' })
  refreshGeneration: number;

  /** The token the last refresh spent: presented again within a few seconds, it is a retry, not a stolen copy. */
  @Column({ name: 'previous_refresh_hash', type: 'bytea', nullable: true, select: false })
  previousRefreshHash: Buffer | null;

  @Column({ name: 'refreshed_at', type: 'timestamptz', nullable: true })
  refreshedAt: Date | null;

  /** Sliding: each refresh moves it on. */
  @Column({ name: 'refresh_expires_at', type: 'timestamptz' })
  refreshExpiresAt: Date;

  @Column({ name: 'push_provider', type: 'varchar', length: 16, nullable: true })
  pushProvider: string | null;

  @Column({ name: 'push_token', type: 'text', nullable: true, select: false })
  pushToken: string | null;

  @Column({ name: 'push_updated_at', type: 'timestamptz', nullable: true })
  pushUpdatedAt: Date | null;
}
