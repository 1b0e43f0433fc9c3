import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length, ValidateIf } from 'class-validator';

export class UserIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a uuid' })
  id: string;
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
