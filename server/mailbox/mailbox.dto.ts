import { CiphertextField } from '../http/ciphertext-field';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  IsUUID,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_ACK_IDS } from '../../common/contracts/realtime-events';

/** Most items one POST /v1/devices/messages may carry (a sender key for every device of a large conversation). */
export const MAX_DEVICE_MESSAGES_PER_REQUEST = 1000;
export const MAX_PENDING_PAGE = 1000;

export class DeviceMessageInput {
  @ApiProperty({ format: 'uuid', description: 'The recipient device’s account' })
  @IsUUID('all', { message: 'userId must be a uuid' })
  userId: string;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 2_147_483_647, description: 'The recipient device' })
  @IsInt({ message: 'deviceId must be a whole number' })
  @Min(1, { message: 'deviceId must be 1 or more' })
  @Max(2_147_483_647, { message: 'deviceId is too large' })
  deviceId: number;

  @CiphertextField('Pairwise-encrypted payload for that device')
  ciphertext: string;
}

export class SendDeviceMessagesDto {
  @ApiProperty({ type: [DeviceMessageInput], minItems: 1, maxItems: MAX_DEVICE_MESSAGES_PER_REQUEST })
  @IsArray()
  @ArrayMinSize(1, { message: 'messages must hold at least one message' })
  @ArrayMaxSize(MAX_DEVICE_MESSAGES_PER_REQUEST, {
    message: `messages must hold at most ${MAX_DEVICE_MESSAGES_PER_REQUEST} messages`,
  })
  @ValidateNested({ each: true })
  @Type(() => DeviceMessageInput)
  messages: DeviceMessageInput[];
}

export class DeviceMessagesAccepted {
  @ApiProperty({
    type: [String],
    format: 'uuid',
    description: 'The id of each message, in the order sent; the recipient acknowledges by these ids',
  })
  ids: string[];
}

export class PendingQuery {
  @ApiProperty({ required: false, minimum: 1, maximum: MAX_PENDING_PAGE, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PENDING_PAGE)
  limit?: number;
}

export class PendingDeviceMessage {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) senderId: string;
  @ApiProperty({ type: 'integer', minimum: 1 }) senderDeviceId: number;
  @ApiProperty({ description: 'Base64, as sent' }) ciphertext: string;
  @ApiProperty({ format: 'date-time' }) sentAt: string;
}

export class PendingDeviceMessages {
  @ApiProperty({ type: [PendingDeviceMessage], description: 'Oldest first' }) items: PendingDeviceMessage[];
  @ApiProperty({ description: 'More are pending after these: acknowledge these, then ask again' }) more: boolean;
}

export class AckDto {
  @ApiProperty({
    type: [String],
    format: 'uuid',
    minItems: 1,
    maxItems: MAX_ACK_IDS,
    description:
      'Device-message ids this device has (deleted from its mailbox), and conversation message ids it received (their senders get `delivered`)',
  })
  @IsArray()
  @ArrayMinSize(1, { message: 'ids must hold at least one id' })
  @ArrayMaxSize(MAX_ACK_IDS, { message: `ids must hold at most ${MAX_ACK_IDS} ids` })
  @IsUUID('all', { each: true, message: 'ids must contain uuids' })
  ids: string[];
}
