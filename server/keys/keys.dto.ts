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
  /** Replaces the identity key (a reinstalled device); omitted = unchanged. */
  @ApiProperty({ required: false, description: 'Public identity key, base64' })
  @IsOptional()
  @IsString()
  @Length(32, 256)
  @IsBase64()
  identityKey?: string;

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
}

export class KeyBundle {
  @ApiProperty({ format: 'uuid' }) userId: string;
  @ApiProperty() identityKey: string;
  @ApiProperty({ type: SignedPreKeyDto }) signedPreKey: { keyId: number; publicKey: string; signature: string };
  @ApiProperty({
    type: PreKeyDto,
    nullable: true,
    description: 'null when the user has run out; then X3DH proceeds without one',
  })
  oneTimePreKey: { keyId: number; publicKey: string } | null;
}

export class PreKeyCount {
  @ApiProperty() oneTimePreKeyCount: number;
}
