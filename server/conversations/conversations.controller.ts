import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
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
  @ApiResponse({ status: 201, type: ConversationView })
  create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateConversationDto): Promise<ConversationView> {
    return this.conversations.create(user.id, body);
  }

  @Get()
  @ApiResponse({ status: 200, type: ConversationPage })
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: PageQuery): Promise<ConversationPage> {
    return this.conversations.list(user.id, query.cursor, query.limit);
  }
}
