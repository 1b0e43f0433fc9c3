import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
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
  @ApiSummary(
    'uploadKeys',
    'Upload your keys',
    'Signed prekey and one-time prekeys; a changed identity key needs the password.',
  )
  @ApiResponse({ status: 200, type: PreKeyCount })
  @ApiErrors(400, 401, [403, 'identityKey would change the stored key and password is missing or wrong'], 429)
  upload(@CurrentUser() user: AuthenticatedUser, @Body() body: UploadKeysDto): Promise<PreKeyCount> {
    return this.keys.upload(user, body);
  }

  /** How many one-time prekeys are left, so the client knows when to upload more. */
  @Get('keys')
  @ApiSummary('countPreKeys', 'Count your one-time prekeys')
  @ApiResponse({ status: 200, type: PreKeyCount })
  @ApiErrors(401, 429)
  count(@CurrentUser() user: AuthenticatedUser): Promise<PreKeyCount> {
    return this.keys.count(user.id);
  }

  /** Consumes one of the user's one-time prekeys, or answers the last-resort key (see KeysService.fetchBundle). */
  @Get('users/:id/keys')
  @RateLimit('keyFetch')
  @ApiSummary(
    'getKeyBundle',
    "Fetch a user's prekey bundle",
    'Consumes one one-time prekey, or answers the last-resort key.',
  )
  @ApiResponse({ status: 200, type: KeyBundle })
  @ApiErrors(
    400,
    401,
    [404, 'No such user, or no published keys'],
    [429, "Too many fetches by this user, or of this user's keys by this user"],
  )
  bundle(@CurrentUser() user: AuthenticatedUser, @Param() params: UserIdParams): Promise<KeyBundle> {
    return this.keys.fetchBundle(user.id, params.id);
  }
}
