import { ApiProperty } from '@nestjs/swagger';
import { IsBase64, IsOptional, IsString, Length, Matches } from 'class-validator';
import { UserProfile } from '../users/users.repository';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;

/** How a user tells their devices apart ("Alice's laptop"); shown in GET /v1/devices. */
export class DeviceNameField {
  @ApiProperty({ required: false, maxLength: 64, description: 'Shown in the device list; defaults to "device <id>"' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  deviceName?: string;
}

export class CredentialsDto extends DeviceNameField {
  @ApiProperty({ example: 'alice', pattern: USERNAME_PATTERN.source })
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-32 letters, digits, "_", "." or "-"' })
  username: string;

  @ApiProperty({ minLength: 8, maxLength: 128 })
  @IsString()
  @Length(8, 128)
  password: string;
}

/** A login is a new device of the account. */
export class LoginDto extends CredentialsDto {}

export class RegisterDto extends CredentialsDto {
  /** Long-term public identity key, base64 (e.g. a 32-byte Curve25519 key → 44 characters). */
  @ApiProperty({ description: 'Public identity key, base64' })
  @IsString()
  @Length(32, 256)
  @IsBase64()
  identityKey: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token answered by register, login or the previous refresh' })
  @IsString()
  @Length(1, 256)
  refreshToken: string;
}

/** What register and login answer: the account, the new device and its tokens. */
export class SessionResponse {
  @ApiProperty() user: UserProfile;
  @ApiProperty({ description: 'This device’s id within the account (1, 2, ...; never reused)' }) deviceId: number;
  @ApiProperty({ description: 'JWT (HS256) for this device, valid for 15 minutes unless the device is removed' })
  accessToken: string;
  @ApiProperty({
    description:
      'Trade it at POST /v1/auth/refresh for a new access token and a new refresh token; each works once. ' +
      'Valid for 60 days after its issue. Keep it secret: a copy used twice removes the device.',
  })
  refreshToken: string;
}

export class RefreshResponse {
  @ApiProperty({ description: 'A new JWT for the same device; send it on open sockets as {"type":"auth","token"}' })
  accessToken: string;
  @ApiProperty({ description: 'The next refresh token; the one presented is spent' }) refreshToken: string;
  @ApiProperty({ description: 'When the new refresh token expires unless used before' }) refreshExpiresAt: string;
}
