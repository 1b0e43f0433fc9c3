import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength, MinLength } from 'class-validator';

export const PUSH_TOKEN_PROVIDERS = ['apns', 'fcm', 'webhook'] as const;
export type PushTokenProvider = (typeof PUSH_TOKEN_PROVIDERS)[number];

/** The longest token any provider issues, with room to spare (FCM registration tokens are ~160 characters). */
export const MAX_PUSH_TOKEN_LENGTH = 4096;

/**
 * What each provider's tokens look like. APNs device tokens are hex (32 bytes today; Apple reserves the right to
 * make them longer); FCM registration tokens are URL-safe base64 with a `:` separator; a webhook gateway's tokens
 * are opaque but printable and unspaced, so they travel in a JSON body and a log line unchanged.
 */
const TOKEN_SHAPES: Record<PushTokenProvider, { pattern: RegExp; min: number; describe: string }> = {
  apns: { pattern: /^[0-9a-fA-F]+$/, min: 64, describe: 'hexadecimal, at least 64 characters' },
  fcm: { pattern: /^[A-Za-z0-9_:.-]+$/, min: 32, describe: 'letters, digits, "_", ":", "." or "-", at least 32' },
  webhook: { pattern: /^[A-Za-z0-9._~:+/=-]+$/, min: 16, describe: 'letters, digits or ._~:+/=-, at least 16' },
};

/** undefined when the token fits its provider, else the 400 message. */
export function pushTokenProblem(provider: PushTokenProvider, token: string): string | undefined {
  const shape = TOKEN_SHAPES[provider];
  if (token.length < shape.min || !shape.pattern.test(token))
    return `token is not a ${provider} token: expected ${shape.describe} characters`;
  return undefined;
}

export class SetPushTokenDto {
  @ApiProperty({ enum: PUSH_TOKEN_PROVIDERS, description: 'Who delivers the push to this device' })
  @IsIn(PUSH_TOKEN_PROVIDERS as unknown as string[], { message: 'provider must be one of apns, fcm, webhook' })
  provider: PushTokenProvider;

  @ApiProperty({
    minLength: 16,
    maxLength: MAX_PUSH_TOKEN_LENGTH,
    description: 'The device token the provider issued (APNs: hex; FCM: registration token; webhook: opaque)',
  })
  @IsString({ message: 'token must be a string' })
  @MinLength(16, { message: 'token must be at least 16 characters' })
  @MaxLength(MAX_PUSH_TOKEN_LENGTH, { message: `token must be at most ${MAX_PUSH_TOKEN_LENGTH} characters` })
  token: string;
}
