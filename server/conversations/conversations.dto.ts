import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { withExactly } from '../http/plainly-valid';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  isUUID,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';

export const MAX_MEMBERS = 100;

export class CreateConversationDto {
  /** The other members; the creator is always a member. */
  @ApiProperty({ type: [String], format: 'uuid', minItems: 1, maxItems: MAX_MEMBERS - 1 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_MEMBERS - 1)
  @ArrayUnique()
  @IsUUID('all', { each: true, message: 'memberIds must contain uuids' })
  memberIds: string[];

  @ApiProperty({ required: false, maxLength: 128 })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  title?: string;
}

export class ConversationIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a uuid' })
  id: string;

  /** Every conversation route's path: see RecognisesPlainlyValid. */
  static plainlyValid(value: unknown): ConversationIdParams | undefined {
    const id = withExactly(value, ['id'])?.id;
    if (!isUUID(id, 'all')) return undefined;
    return Object.assign(new ConversationIdParams(), { id });
  }
}

export class PageQuery {
  @ApiProperty({ required: false, description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is not valid' })
  cursor?: string;

  @ApiProperty({ required: false, minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

export class ConversationView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ nullable: true, type: String }) title: string | null;
  @ApiProperty({ format: 'uuid' }) createdBy: string;
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'Adds and removes others: the creator, then the longest-standing member once the admin leaves',
  })
  adminId: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: [String] }) memberIds: string[];
}

export class ConversationPage {
  @ApiProperty({ type: [ConversationView] }) items: ConversationView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class AddMembersDto {
  @ApiProperty({ type: [String], format: 'uuid', minItems: 1, maxItems: MAX_MEMBERS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_MEMBERS)
  @ArrayUnique()
  @IsUUID('all', { each: true, message: 'userIds must contain uuids' })
  userIds: string[];
}

export class MemberParams extends ConversationIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'userId must be a uuid' })
  userId: string;
}

export class MembersView {
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty({ type: [String], description: 'Longest-standing first' }) memberIds: string[];
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) adminId: string | null;
  @ApiProperty({ description: 'Goes up with every change (a bigint, as a decimal string)', pattern: '^[0-9]+$' })
  membershipVersion: string;
}
