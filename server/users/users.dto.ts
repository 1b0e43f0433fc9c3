import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length, Matches, ValidateIf } from 'class-validator';
import { USERNAME_PATTERN } from '../auth/auth.dto';

export class UserIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a uuid' })
  id: string;
}

export class UsernameParams {
  @ApiProperty({ example: 'alice', pattern: USERNAME_PATTERN.source })
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-32 letters, digits, "_", "." or "-"' })
  username: string;
}

export class UpdateProfileDto {
  @ApiProperty({ nullable: true, required: false, maxLength: 64 })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsString()
  @Length(1, 64)
  displayName?: string | null;
}

export class ChangePasswordDto {
  @ApiProperty() @IsString() @Length(8, 128) currentPassword: string;
  @ApiProperty() @IsString() @Length(8, 128) newPassword: string;
}
