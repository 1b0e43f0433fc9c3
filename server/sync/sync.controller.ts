import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import type { AuthenticatedUser } from '../http/http-types';
import { SyncAnswer, SyncQuery } from './sync.dto';
import { SyncService } from './sync.service';

@ApiTags('sync')
@ApiBearerAuth()
@Controller('v1/sync')
export class SyncController {
  constructor(private readonly sync: SyncService) {}

  @Get()
  @ApiSummary(
    'sync',
    'Catch up after time offline',
    'For the calling device: conversations with new messages since `since` (newest cursor, count, where to page ' +
      'from with `after`), membership changes (your own removals too), and how many device messages wait for it. ' +
      'Pass `nextSince` next time. Messages stored in the last seconds may be reported again by the next sync; ' +
      'none is ever skipped.',
  )
  @ApiResponse({ status: 200, type: SyncAnswer })
  @ApiErrors([400, 'since is not a cursor this API wrote (the message says why)'], 401, 429)
  since(@CurrentUser() user: AuthenticatedUser, @Query() query: SyncQuery): Promise<SyncAnswer> {
    return this.sync.since(user, query.since);
  }
}
