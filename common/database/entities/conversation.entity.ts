import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'conversations' })
export class ConversationEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Optional; end-to-end encrypted clients may keep titles out of the server entirely. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  title: string | null;

  @Column({ name: 'created_by', type: 'uuid' })
  createdBy: string;

  /** Adds and removes others: the creator, then the longest-standing member when the admin leaves. */
  @Column({ name: 'admin_id', type: 'uuid', nullable: true })
  adminId: string | null;

  /** Goes up with every member change; caches keep the member list of the highest version they saw. */
  @Column({ name: 'membership_version', type: 'bigint' })
  membershipVersion: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
