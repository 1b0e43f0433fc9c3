import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength, MinLength } from 'class-validator';
import {
  MAX_PUSH_TOKEN_LENGTH,
  MIN_PUSH_TOKEN_LENGTH,
  PUSH_TOKEN_PROVIDERS,
  type PushTokenProvider,
} from '../../common/contracts/push-tokens';

/** The provider-specific shape of the token is checked by the service (pushTokenProblem), after these. */
export class SetPushTokenDto {
  @ApiProperty({ enum: PUSH_TOKEN_PROVIDERS, description: 'Who delivers the push to this device' })
  @IsIn(PUSH_TOKEN_PROVIDERS as unknown as string[], { message: 'provider must be one of apns, fcm, webhook' })
  provider: PushTokenProvider;

  @ApiProperty({
    minLength: MIN_PUSH_TOKEN_LENGTH,
    maxLength: MAX_PUSH_TOKEN_LENGTH,
    description:
      'The token the provider issued for the device. apns: at least 64 hex characters; fcm: the registration ' +
      'token (at least 32 of A-Z a-z 0-9 _ : . -); webhook: an opaque token of your push gateway (at least 16 ' +
      'of A-Z a-z 0-9 . _ ~ : + / = -).',
  })
  @IsString({ message: 'token must be a string' })
  @MinLength(MIN_PUSH_TOKEN_LENGTH, { message: `token must be at least ${MIN_PUSH_TOKEN_LENGTH} characters` })
  @MaxLength(MAX_PUSH_TOKEN_LENGTH, { message: `token must be at most ${MAX_PUSH_TOKEN_LENGTH} characters` })
  token: string;
}
