import { ApiProperty } from '@nestjs/swagger';
import { IsBase64, IsString, IsUUID, Length, Matches } from 'class-validator';
import { UserProfile } from '../users/users.repository';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;

export class LoginDto {
  @ApiProperty({ example: 'alice', pattern: USERNAME_PATTERN.source })
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-32 letters, digits, "_", "." or "-"' })
  username: string;

  @ApiProperty({ minLength: 8, maxLength: 128 })
  @IsString()
  @Length(8, 128)
  password: string;
}

export class RegisterDto extends LoginDto {
  /** Long-term public identity key, base64 (e.g. a 32-byte Curve25519 key → 44 characters). */
  @ApiProperty({ description: 'Public identity key, base64' })
  @IsString()
  @Length(32, 256)
  @IsBase64()
  identityKey: string;
}

export class SessionResponse {
  @ApiProperty() user: UserProfile;
  @ApiProperty({ description: 'JWT (HS256), valid for an hour unless revoked' }) accessToken: string;
}

export class RefreshResponse {
  @ApiProperty({ description: 'A new JWT for the same session; send it on open sockets as {"type":"auth","token"}' })
  accessToken: string;
  @ApiProperty({ description: 'When the session now ends unless refreshed again' }) expiresAt: string;
}

export class SessionView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() expiresAt: string;
  @ApiProperty({ description: 'The session making this request' }) current: boolean;
}

export class SessionIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a uuid' })
  id: string;
}
