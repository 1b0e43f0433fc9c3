import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
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
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: [String] }) memberIds: string[];
}

export class ConversationPage {
  @ApiProperty({ type: [ConversationView] }) items: ConversationView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}
