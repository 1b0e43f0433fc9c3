import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import { CurrentUser } from '../auth/auth.decorators';
import type { AuthenticatedUser } from '../http/http-types';
import { ConversationPage, ConversationView, CreateConversationDto, PageQuery } from './conversations.dto';
import { ConversationsService } from './conversations.service';

@ApiTags('conversations')
@ApiBearerAuth()
@Controller('v1/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @ApiSummary('createConversation', 'Start a conversation')
  @ApiResponse({ status: 201, type: ConversationView })
  @ApiErrors([400, 'Invalid body, too many members, or unknown users'], 401, 429)
  create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateConversationDto): Promise<ConversationView> {
    return this.conversations.create(user.id, body);
  }

  @Get()
  @ApiSummary('listConversations', 'List your conversations', 'Newest activity first, a page at a time.')
  @ApiResponse({ status: 200, type: ConversationPage })
  @ApiErrors([400, 'Invalid query or cursor'], 401, 429)
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: PageQuery): Promise<ConversationPage> {
    return this.conversations.list(user.id, query.cursor, query.limit);
  }
}
