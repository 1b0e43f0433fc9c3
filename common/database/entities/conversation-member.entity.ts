import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'conversation_members' })
@Index('conversation_members_user_idx', ['userId', 'conversationId'])
export class ConversationMemberEntity {
  @PrimaryColumn({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @CreateDateColumn({ name: 'joined_at', type: 'timestamptz' })
  joinedAt: Date;

  /** The conversation's newest message seq when this member joined: history starts after it. */
  @Column({ name: 'joined_seq', type: 'bigint', default: 0 })
  joinedSeq: string;

  /** Read receipt position: the newest message this member has read. */
  @Column({ name: 'last_read_message_id', type: 'uuid', nullable: true })
  lastReadMessageId: string | null;

  @Column({ name: 'last_read_at', type: 'timestamptz', nullable: true })
  lastReadAt: Date | null;
}
