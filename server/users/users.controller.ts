import { Body, Controller, Get, HttpCode, HttpStatus, Param, Patch, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators';
import type { AuthenticatedUser } from '../http/http-types';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { ChangePasswordDto, UpdateProfileDto, UserIdParams } from './users.dto';
import { UserProfile } from './users.repository';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiResponse({ status: 200, type: UserProfile })
  me(@CurrentUser() user: AuthenticatedUser): Promise<UserProfile> {
    return this.users.profile(user.id);
  }

  @Patch('me')
  @ApiResponse({ status: 200, type: UserProfile })
  update(@CurrentUser() user: AuthenticatedUser, @Body() body: UpdateProfileDto): Promise<UserProfile> {
    return this.users.updateProfile(user.id, body);
  }

  /** Ends every session of the user, this one included. Has its own limit: each call checks the current password. */
  @Put('me/password')
  @RateLimit('passwordChange')
  @HttpCode(HttpStatus.NO_CONTENT)
  changePassword(@CurrentUser() user: AuthenticatedUser, @Body() body: ChangePasswordDto): Promise<void> {
    return this.users.changePassword(user.id, body.currentPassword, body.newPassword);
  }

  @Get(':id')
  @ApiResponse({ status: 200, type: UserProfile })
  profile(@Param() params: UserIdParams): Promise<UserProfile> {
    return this.users.profile(params.id);
  }
}
