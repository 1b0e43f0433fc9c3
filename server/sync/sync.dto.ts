import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { NEW_MESSAGES_CAP } from './sync.constants';

export class SyncQuery {
  @ApiProperty({
    required: false,
    description: 'nextSince of the previous sync; without it, everything you can see',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200, { message: 'since is not a sync cursor: too long' })
  since?: string;
}

export class SyncConversation {
  @ApiProperty({ format: 'uuid' }) id: string;

  @ApiProperty({
    nullable: true,
    type: String,
    pattern: '^[0-9]+$',
    description: 'The newest message seq you can read here (null: none yet)',
  })
  latestCursor: string | null;

  @ApiProperty({
    minimum: 0,
    maximum: NEW_MESSAGES_CAP,
    description: `Messages since the cursor; counted up to ${NEW_MESSAGES_CAP} (that many or more)`,
  })
  newMessages: number;

  @ApiProperty({
    pattern: '^[0-9]+$',
    description:
      'Page GET /v1/conversations/{id}/messages?after= from here to get every new message (skip ids you already ' +
      'have: a message may be reported by two syncs)',
  })
  pageFrom: string;
}

export class SyncMembershipChange {
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty({ enum: ['added', 'removed'] }) change: 'added' | 'removed';
  @ApiProperty({ format: 'uuid', description: 'Who made the change' }) by: string;
  @ApiProperty({ format: 'date-time' }) at: string;
}

export class SyncAnswer {
  @ApiProperty({
    type: [SyncConversation],
    description: 'With `since`: conversations with new messages or membership changes; without: all of yours',
  })
  conversations: SyncConversation[];

  @ApiProperty({
    type: [SyncMembershipChange],
    description:
      'Oldest first: changes in your conversations since you joined them, and your own additions and removals',
  })
  membershipChanges: SyncMembershipChange[];

  @ApiProperty({ minimum: 0, description: 'Device messages waiting for this device (GET /v1/devices/messages)' })
  pendingDeviceMessages: number;

  @ApiProperty({ description: 'Pass as `since` next time' })
  nextSince: string;

  @ApiProperty({ description: 'More membership changes are waiting: sync again with nextSince now' })
  hasMore: boolean;
}
