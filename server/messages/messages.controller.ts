import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators';
import { ConversationIdParams } from '../conversations/conversations.dto';
import type { AuthenticatedUser } from '../http/http-types';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { HistoryPage, HistoryQuery, ReadReceiptDto, SendAccepted, SendMessageDto } from './messages.dto';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('v1/conversations/:id')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Post('messages')
  @HttpCode(HttpStatus.ACCEPTED)
  @RateLimit('send')
  @ApiResponse({
    status: 202,
    type: SendAccepted,
    description: 'Durable in the queue; stored and delivered by the worker',
  })
  send(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: ConversationIdParams,
    @Body() body: SendMessageDto,
  ): Promise<SendAccepted> {
    return this.messages.send(user.id, params.id, body);
  }

  @Get('messages')
  @ApiResponse({ status: 200, type: HistoryPage })
  history(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: ConversationIdParams,
    @Query() query: HistoryQuery,
  ): Promise<HistoryPage> {
    return this.messages.history(user.id, params.id, query.before, query.limit);
  }

  @Post('read')
  @HttpCode(HttpStatus.NO_CONTENT)
  markRead(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: ConversationIdParams,
    @Body() body: ReadReceiptDto,
  ): Promise<void> {
    return this.messages.markRead(user.id, params.id, body.upToMessageId);
  }
}
