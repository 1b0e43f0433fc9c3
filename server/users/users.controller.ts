import { Body, Controller, Get, HttpCode, HttpStatus, Param, Patch, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
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
  @ApiSummary('getMyProfile', 'Your profile')
  @ApiResponse({ status: 200, type: UserProfile })
  @ApiErrors(401, 429)
  me(@CurrentUser() user: AuthenticatedUser): Promise<UserProfile> {
    return this.users.profile(user.id);
  }

  @Patch('me')
  @ApiSummary('updateMyProfile', 'Change your profile')
  @ApiResponse({ status: 200, type: UserProfile })
  @ApiErrors(400, 401, 429)
  update(@CurrentUser() user: AuthenticatedUser, @Body() body: UpdateProfileDto): Promise<UserProfile> {
    return this.users.updateProfile(user.id, body);
  }

  /** Removes every other device of the user. Has its own limit: each call checks the current password. */
  @Put('me/password')
  @RateLimit('passwordChange')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiSummary(
    'changePassword',
    'Change your password',
    'Removes every other device of the account; the calling device stays logged in.',
  )
  @ApiResponse({ status: 204, description: 'Changed; every other device is removed' })
  @ApiErrors(400, [401, 'No valid access token, or the current password is wrong'], 429)
  changePassword(@CurrentUser() user: AuthenticatedUser, @Body() body: ChangePasswordDto): Promise<void> {
    return this.users.changePassword(user, body.currentPassword, body.newPassword);
  }

  @Get(':id')
  @ApiSummary('getUserProfile', "Another user's profile")
  @ApiResponse({ status: 200, type: UserProfile })
  @ApiErrors(400, 401, [404, 'No such user'], 429)
  profile(@Param() params: UserIdParams): Promise<UserProfile> {
    return this.users.profile(params.id);
  }
}
