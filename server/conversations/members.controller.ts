import { Body, Controller, Delete, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import type { AuthenticatedUser } from '../http/http-types';
import { AddMembersDto, ConversationIdParams, MemberParams, MembersView } from './conversations.dto';
import { MembershipService } from './membership.service';

const NOT_FOUND = [404, 'No such conversation, or you are not a member'] as [number, string];
const UNAVAILABLE = [503, 'The member cache cannot be updated; nothing changed, retry'] as [number, string];

@ApiTags('conversations')
@ApiBearerAuth()
@Controller('v1/conversations/:id/members')
export class MembersController {
  constructor(private readonly membership: MembershipService) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  @ApiSummary(
    'addMembers',
    'Add members',
    'The admin only. Users already in are left as they are. Members before and after get `members-changed`; ' +
      'a member added now reads history from this point on.',
  )
  @ApiResponse({ status: 200, type: MembersView })
  @ApiErrors(
    [400, 'Invalid body, unknown users (named), or more than the maximum of members'],
    401,
    [403, 'You are not the admin of this conversation'],
    NOT_FOUND,
    429,
    UNAVAILABLE,
  )
  add(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: ConversationIdParams,
    @Body() body: AddMembersDto,
  ): Promise<MembersView> {
    return this.membership.add(user.id, params.id, body.userIds);
  }

  @Delete(':userId')
  @ApiSummary(
    'removeMember',
    'Remove a member, or leave',
    'The admin removes anyone; any member removes themself (leaves). When the admin leaves, the longest-standing ' +
      'member becomes admin. Members before and after (the removed one too) get `members-changed`.',
  )
  @ApiResponse({ status: 200, type: MembersView })
  @ApiErrors(
    400,
    401,
    [403, 'Only the admin removes others'],
    [404, 'No such conversation, you are not a member, or the user is not one'],
    429,
    UNAVAILABLE,
  )
  remove(@CurrentUser() user: AuthenticatedUser, @Param() params: MemberParams): Promise<MembersView> {
    return this.membership.remove(user.id, params.id, params.userId);
  }
}
