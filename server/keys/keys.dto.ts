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

/** The prekey of one device's bundle: a one-time prekey (consumed), or the device's last-resort key. */
export class BundlePreKey {
  @ApiProperty({ minimum: 0, maximum: 2 ** 31 - 1 }) keyId: number;
  @ApiProperty({ description: 'Public key, base64' }) publicKey: string;
  @ApiProperty({ description: 'true: the device’s last-resort key (never consumed, signed), not a one-time prekey' })
  lastResort: boolean;
  @ApiProperty({ required: false, description: 'Last-resort keys only: signature of publicKey by the identity key' })
  signature?: string;
}

export class DeviceBundle {
  @ApiProperty({ description: 'The device’s id within the account' }) deviceId: number;
  @ApiProperty({ type: SignedPreKeyDto }) signedPreKey: { keyId: number; publicKey: string; signature: string };
  @ApiProperty({
    type: BundlePreKey,
    nullable: true,
    description:
      'A one-time prekey taken for this fetch, or the last-resort key when none is left (or none may be handed ' +
      'out now); null only when the device has neither',
  })
  preKey: BundlePreKey | null;
}

/** What a sender needs to start a session with every device of a user. */
export class KeyBundles {
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty({ description: 'The account’s identity key, base64' }) identityKey: string;
  @ApiProperty({ type: [DeviceBundle], description: 'One bundle per device that has published keys' })
  devices: DeviceBundle[];
}

/** For the calling device. */
export class PreKeyCount {
  @ApiProperty() oneTimePreKeyCount: number;
  @ApiProperty({ description: 'Whether a last-resort prekey is stored' }) hasLastResortKey: boolean;
}
