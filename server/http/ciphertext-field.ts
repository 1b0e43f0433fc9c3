import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { isBase64, IsBase64, isNotEmpty, IsNotEmpty, isString, IsString, maxLength, MaxLength } from 'class-validator';
import { MAX_CIPHERTEXT_BASE64_LENGTH } from '../../common/contracts/queue-messages';

/** An opaque, end-to-end encrypted payload in a request: base64, up to 64 KiB decoded. The server never reads it. */
export const CiphertextField = (description: string) =>
  applyDecorators(
    ApiProperty({
      description: `${description}, base64, at most 64 KiB decoded`,
      maxLength: MAX_CIPHERTEXT_BASE64_LENGTH,
    }),
    IsString(),
    IsNotEmpty(),
    MaxLength(MAX_CIPHERTEXT_BASE64_LENGTH, { message: 'ciphertext must be at most 64 KiB' }),
    IsBase64(undefined, { message: 'ciphertext must be base64' }),
  );

/** What CiphertextField's decorators accept, by the same functions (for a DTO's plainlyValid). */
export const isCiphertext = (value: unknown): value is string =>
  isString(value) && isNotEmpty(value) && maxLength(value, MAX_CIPHERTEXT_BASE64_LENGTH) && isBase64(value);
