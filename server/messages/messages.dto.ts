import { CiphertextField, isCiphertext } from '../http/ciphertext-field';
import { withExactly } from '../http/plainly-valid';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  isUUID,
  Matches,
  Max,
  Min,
  registerDecorator,
  ValidationOptions,
} from 'class-validator';

const MAX_BIGINT = 2n ** 63n - 1n;

/** A decimal string within PostgreSQL's bigint, the type of messages.seq. */
function IsBigintSeq(options: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isBigintSeq',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      // Anything but digits is @Matches' to refuse.
      validator: {
        validate: (value: unknown) =>
          typeof value !== 'string' || !/^[0-9]+$/.test(value) || BigInt(value) <= MAX_BIGINT,
      },
    });
}

export class SendMessageDto {
  /**
   * The client's own id for this message: an idempotency key within this conversation. Resending with the same
   * one to the same conversation never makes a second message (the answer carries the same id); the same one in
   * another conversation is a separate message.
   */
  @ApiProperty({
    format: 'uuid',
    description:
      'Idempotency key per (sender, conversation): a resend with the same value to the same conversation is stored once and answers the same id; in another conversation it is a new message',
  })
  @IsUUID('all', { message: 'clientMessageId must be a uuid' })
  clientMessageId: string;

  @CiphertextField('End-to-end encrypted payload')
  ciphertext: string;

  /** Sending is the hottest route: see RecognisesPlainlyValid. */
  static plainlyValid(value: unknown): SendMessageDto | undefined {
    const body = withExactly(value, ['clientMessageId', 'ciphertext']);
    if (!body) return undefined;
    const { clientMessageId, ciphertext } = body;
    if (!isUUID(clientMessageId, 'all') || !isCiphertext(ciphertext)) return undefined;
    return Object.assign(new SendMessageDto(), { clientMessageId, ciphertext });
  }
}

export class SendAccepted {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty({ enum: ['queued'] }) status: 'queued';
}

export class HistoryQuery {
  @ApiProperty({ required: false, description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @Matches(/^[1-9][0-9]{0,18}$/, { message: 'before must be a cursor returned by this API' })
  // 19 digits reach past bigint (the database would refuse the query): a cursor names a seq that can exist.
  @IsBigintSeq({ message: 'before must be a cursor returned by this API (beyond the largest message seq)' })
  before?: string;

  @ApiProperty({
    required: false,
    description:
      'Pages forward, oldest first: `0` starts at the oldest message, then the nextCursor of the previous page',
  })
  @IsOptional()
  @IsString()
  @Matches(/^(0|[1-9][0-9]{0,18})$/, { message: 'after must be 0 or a cursor returned by this API' })
  @IsBigintSeq({ message: 'after must be a cursor returned by this API (beyond the largest message seq)' })
  after?: string;

  @ApiProperty({ required: false, minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

export class MessageItem {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() seq: string;
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty({ format: 'uuid' }) senderId: string;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'The sender’s device that sent it' })
  senderDeviceId: number;
  @ApiProperty({ format: 'uuid' }) clientMessageId: string;
  @ApiProperty() ciphertext: string;
  @ApiProperty() sentAt: string;
  @ApiProperty() storedAt: string;
}

export class HistoryPage {
  @ApiProperty({ type: [MessageItem] }) items: MessageItem[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

export class ReadReceiptDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'upToMessageId must be a uuid' })
  upToMessageId: string;
}
