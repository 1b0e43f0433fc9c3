import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A member added to or removed from a conversation; `/v1/sync` reports them by seq. */
@Entity({ name: 'membership_changes' })
@Index('membership_changes_user_idx', ['userId', 'seq'])
@Index('membership_changes_conversation_idx', ['conversationId', 'seq'])
export class MembershipChangeEntity {
  @PrimaryColumn({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS' })
  seq: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 8 })
  change: 'added' | 'removed';

  @Column({ name: 'actor_id', type: 'uuid' })
  actorId: string;

  @Column({ name: 'changed_at', type: 'timestamptz' })
  changedAt: Date;
}
