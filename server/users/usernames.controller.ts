import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import { UsernameParams } from './users.dto';
import { UserProfile } from './users.repository';
import { UsersService } from './users.service';

/**
 * Username → user, for clients that let people type names. Its own path rather than /v1/users/by-username/{name}:
 * that one is ambiguous with /v1/users/{id}/keys (OpenAPI cannot tell "by-username" from an id).
 */
@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/usernames')
export class UsernamesController {
  constructor(private readonly users: UsersService) {}

  /** Public profiles only: anyone signed in may look a name up, as they may look an id up. */
  @Get(':username')
  @ApiSummary(
    'getUserByUsername',
    'Find a user by username',
    'Answers the public profile, matching case-insensitively.',
  )
  @ApiResponse({ status: 200, type: UserProfile })
  @ApiErrors(400, 401, [404, 'No user with this username'], 429)
  byUsername(@Param() params: UsernameParams): Promise<UserProfile> {
    return this.users.profileByUsername(params.username);
  }
}
