import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import { CurrentUser } from '../auth/auth.decorators';
import { ConversationIdParams } from '../conversations/conversations.dto';
import type { AuthenticatedUser } from '../http/http-types';
import { RateLimit } from '../rate-limits/rate-limit.guard';
import { DeliveryReceipts } from '../receipts/delivery-receipts.service';
import { HistoryPage, HistoryQuery, ReadReceiptDto, SendAccepted, SendMessageDto } from './messages.dto';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('v1/conversations/:id')
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly receipts: DeliveryReceipts,
  ) {}

  @Post('messages')
  @HttpCode(HttpStatus.ACCEPTED)
  @RateLimit('send')
  @ApiSummary(
    'sendMessage',
    'Send a message',
    'Accepted once durable in the queue; the worker stores it and delivers it live.',
  )
  @ApiResponse({
    status: 202,
    type: SendAccepted,
    description: 'Durable in the queue; stored and delivered by the worker',
  })
  @ApiErrors(400, 401, [404, 'No such conversation, or you are not a member'], 413, 429, [
    503,
    'The queue is unavailable',
  ])
  send(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: ConversationIdParams,
    @Body() body: SendMessageDto,
  ): Promise<SendAccepted> {
    return this.messages.send(user, params.id, body);
  }

  @Get('messages')
  @ApiSummary(
    'getHistory',
    'Page through history',
    'Newest first with `before` (the cursor of the previous page); oldest first with `after` (`0`, then the cursor of the previous page) to catch up. Not both.',
  )
  @ApiResponse({ status: 200, type: HistoryPage })
  @ApiErrors([400, 'Invalid query or cursor'], 401, [404, 'No such conversation, or you are not a member'], 429)
  async history(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: ConversationIdParams,
    @Query() query: HistoryQuery,
  ): Promise<HistoryPage> {
    const page = await this.messages.history(
      user.id,
      params.id,
      { before: query.before, after: query.after },
      query.limit,
    );
    // Only recorded here; the senders hear `delivered` after this answer has gone (DeliveryReceipts).
    this.receipts.fetched(user, page.items);
    return page;
  }

  @Post('read')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiSummary('markRead', 'Mark messages read', 'Members get a `receipt` event on the WebSocket.')
  @ApiResponse({ status: 204, description: 'Recorded' })
  @ApiErrors(400, 401, [404, 'No such conversation or message'], 429)
  markRead(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: ConversationIdParams,
    @Body() body: ReadReceiptDto,
  ): Promise<void> {
    return this.messages.markRead(user.id, params.id, body.upToMessageId);
  }
}
