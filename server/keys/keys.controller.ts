import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators';
import type { AuthenticatedUser } from '../http/http-types';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { UserIdParams } from '../users/users.dto';
import { KeyBundle, PreKeyCount, UploadKeysDto } from './keys.dto';
import { KeysService } from './keys.service';

@ApiTags('keys')
@ApiBearerAuth()
@Controller('v1')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Put('keys')
  @ApiResponse({ status: 200, type: PreKeyCount })
  @ApiResponse({ status: 403, description: 'identityKey would change the stored key and password is missing or wrong' })
  upload(@CurrentUser() user: AuthenticatedUser, @Body() body: UploadKeysDto): Promise<PreKeyCount> {
    return this.keys.upload(user.id, body);
  }

  /** How many one-time prekeys are left, so the client knows when to upload more. */
  @Get('keys')
  @ApiResponse({ status: 200, type: PreKeyCount })
  count(@CurrentUser() user: AuthenticatedUser): Promise<PreKeyCount> {
    return this.keys.count(user.id);
  }

  /** Consumes one of the user's one-time prekeys, or answers the last-resort key (see KeysService.fetchBundle). */
  @Get('users/:id/keys')
  @RateLimit('keyFetch')
  @ApiResponse({ status: 200, type: KeyBundle })
  @ApiResponse({ status: 429, description: "Too many fetches by this user, or of this user's keys by this user" })
  bundle(@CurrentUser() user: AuthenticatedUser, @Param() params: UserIdParams): Promise<KeyBundle> {
    return this.keys.fetchBundle(user.id, params.id);
  }
}
