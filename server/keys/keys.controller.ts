import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import { CurrentUser } from '../auth/auth.decorators';
import type { AuthenticatedUser } from '../http/http-types';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { UserIdParams } from '../users/users.dto';
import { KeyBundles, PreKeyCount, UploadKeysDto } from './keys.dto';
import { KeysService } from './keys.service';

@ApiTags('keys')
@ApiBearerAuth()
@Controller('v1')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Put('keys')
  @ApiSummary(
    'uploadKeys',
    'Upload this device’s keys',
    'Signed prekey, last-resort key and one-time prekeys of the calling device; the identity key is the ' +
      'account’s, and changing it needs the password.',
  )
  @ApiResponse({ status: 200, type: PreKeyCount })
  @ApiErrors(400, 401, [403, 'identityKey would change the stored key and password is missing or wrong'], 429)
  upload(@CurrentUser() user: AuthenticatedUser, @Body() body: UploadKeysDto): Promise<PreKeyCount> {
    return this.keys.upload(user, body);
  }

  /** How many one-time prekeys the calling device has left, so it knows when to upload more. */
  @Get('keys')
  @ApiSummary('countPreKeys', 'Count this device’s one-time prekeys')
  @ApiResponse({ status: 200, type: PreKeyCount })
  @ApiErrors(401, 429)
  count(@CurrentUser() user: AuthenticatedUser): Promise<PreKeyCount> {
    return this.keys.count(user);
  }

  /** One bundle per device, each consuming a one-time prekey or answering the last-resort key (KeysService.fetchBundles). */
  @Get('users/:id/keys')
  @RateLimit('keyFetch')
  @ApiSummary(
    'getKeyBundle',
    "Fetch a user's prekey bundles",
    'One bundle per device of the user; each takes one one-time prekey of its device, or answers the device’s ' +
      'last-resort key when none is left. A device left with fewer than 10 gets a `prekeys-low` event.',
  )
  @ApiResponse({ status: 200, type: KeyBundles })
  @ApiErrors(
    400,
    401,
    [404, 'No such user, or no published keys'],
    [429, "Too many fetches by this user, or of this user's keys by this user"],
  )
  bundle(@CurrentUser() user: AuthenticatedUser, @Param() params: UserIdParams): Promise<KeyBundles> {
    return this.keys.fetchBundles(user.id, params.id);
  }
}
