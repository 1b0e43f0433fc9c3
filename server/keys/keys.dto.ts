import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBase64,
  IsDefined,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

export const MAX_PREKEYS_PER_UPLOAD = 100;

export class PreKeyDto {
  @ApiProperty({ minimum: 0, maximum: 2 ** 31 - 1 })
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  keyId: number;

  @ApiProperty({ description: 'Public key, base64' })
  @IsString()
  @Length(32, 256)
  @IsBase64()
  publicKey: string;
}

export class SignedPreKeyDto extends PreKeyDto {
  @ApiProperty({ description: 'Signature of publicKey by the identity key, base64' })
  @IsString()
  @Length(64, 256)
  @IsBase64()
  signature: string;
}

export class UploadKeysDto {
  /**
   * Replaces the identity key (a reinstalled device); omitted or unchanged = no change. A different key needs
   * `password`, and everyone who shares a conversation with the user is told (`identity-changed` event).
   */
  @ApiProperty({
    required: false,
    description:
      'Public identity key, base64. Changing it requires `password` (403 otherwise) and sends an `identity-changed` event to every contact',
  })
  @IsOptional()
  @IsString()
  @Length(32, 256)
  @IsBase64()
  identityKey?: string;

  /** Re-authentication: the account password, required only when `identityKey` changes the stored key. */
  @ApiProperty({
    required: false,
    minLength: 8,
    maxLength: 128,
    description: 'The account password; required when identityKey replaces the stored identity key',
  })
  @IsOptional()
  @IsString()
  @Length(8, 128)
  password?: string;

  @ApiProperty({ type: SignedPreKeyDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => SignedPreKeyDto)
  signedPreKey: SignedPreKeyDto;

  @ApiProperty({ type: [PreKeyDto], maxItems: MAX_PREKEYS_PER_UPLOAD })
  @IsArray()
  @ArrayMaxSize(MAX_PREKEYS_PER_UPLOAD)
  @ValidateNested({ each: true })
  @Type(() => PreKeyDto)
  oneTimePreKeys: PreKeyDto[];

  /**
   * The key handed out when no one-time prekey is left; never consumed. Replaces the stored one; omitted =
   * unchanged. Signed by the identity key like the signed prekey, so a fetcher can check it.
   */
  @ApiProperty({
    type: SignedPreKeyDto,
    required: false,
    description: 'Last-resort prekey: handed out instead of a one-time prekey when none is left, never consumed',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => SignedPreKeyDto)
  lastResortKey?: SignedPreKeyDto;
}

export class KeyBundle {
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty() identityKey: string;
  @ApiProperty({ type: SignedPreKeyDto }) signedPreKey: { keyId: number; publicKey: string; signature: string };
  @ApiProperty({
    type: PreKeyDto,
    nullable: true,
    description: 'A one-time prekey, consumed by this fetch; null when none is left or none may be handed out now',
  })
  oneTimePreKey: { keyId: number; publicKey: string } | null;

  @ApiProperty({
    type: SignedPreKeyDto,
    nullable: true,
    description:
      "When oneTimePreKey is null: the user's last-resort prekey (never consumed), to use in its place; null if the user never uploaded one",
  })
  lastResortKey: { keyId: number; publicKey: string; signature: string } | null;

  @ApiProperty({ description: 'true when lastResortKey stands in for the one-time prekey' })
  lastResort: boolean;
}

export class PreKeyCount {
  @ApiProperty() oneTimePreKeyCount: number;
  @ApiProperty({ description: 'Whether a last-resort prekey is stored' }) hasLastResortKey: boolean;
}
