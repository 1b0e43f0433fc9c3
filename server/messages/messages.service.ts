import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { messageIdFor } from '../../common/contracts/message-id';
import { MessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { ConversationsService, isDataException } from '../conversations/conversations.service';
import type { AuthenticatedUser } from '../http/http-types';
import { MessageQueueService } from '../infrastructure/message-queue.service';
import { RealtimePublisher } from '../realtime/realtime-publisher.service';
import { HistoryPage, SendAccepted, SendMessageDto } from './messages.dto';
import { MessagesRepository } from './messages.repository';

@Injectable()
export class MessagesService {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesRepository,
    private readonly queue: MessageQueueService,
    private readonly realtime: RealtimePublisher,
  ) {}

  /**
   * Accepts a message once SQS holds it. The id is derived from (sender, conversation, clientMessageId), so a
   * retry answers the same id and the copy it enqueues is dropped by the worker's unique key; the same client
   * id in another conversation is a different message. The ciphertext is passed through untouched.
   */
  async send(sender: AuthenticatedUser, conversationId: string, input: SendMessageDto): Promise<SendAccepted> {
    const senderId = sender.id;
    const memberIds = await this.conversations.requireMember(conversationId, senderId);
    const clientMessageId = input.clientMessageId.toLowerCase();
    const id = messageIdFor(senderId, conversationId, clientMessageId);
    const body: MessageQueueBodyV1 = {
      v: 1,
      id,
      conversationId,
      senderId,
      senderDeviceId: sender.deviceId,
      clientMessageId,
      ciphertext: input.ciphertext,
      sentAt: new Date().toISOString(),
      memberIds,
    };
    await this.queue.enqueueMessage(body);
    return { id, conversationId, status: 'queued' };
  }

  /**
   * One page of history: newest first from `before` (or the newest message), or oldest first after `after` (a
   * device catching up; `0` is before the oldest). `nextCursor` continues in the same direction and is null on the
   * last page; a device that caught up resumes later with the seq of the last message it got.
   */
  async history(
    userId: string,
    conversationId: string,
    cursor: { before?: string; after?: string },
    limit = 50,
  ): Promise<HistoryPage> {
    const { before, after } = cursor;
    if (before !== undefined && after !== undefined)
      throw new BadRequestException('use either before (backwards) or after (forwards), not both');
    await this.conversations.requireMember(conversationId, userId);
    const page =
      after !== undefined
        ? this.messages.historyAfter(conversationId, userId, after, limit + 1)
        : this.messages.history(conversationId, userId, before, limit + 1);
    const rows = await page.catch((error: unknown) => {
      if ((before ?? after) !== undefined && isDataException(error))
        throw new BadRequestException(
          `${before !== undefined ? 'before' : 'after'} must be a cursor returned by this API`,
        );
      throw error;
    });
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1].seq : null };
  }

  /** Stores the read position and tells every member's devices (the reader's other devices too). */
  async markRead(userId: string, conversationId: string, upToMessageId: string): Promise<void> {
    const memberIds = await this.conversations.requireMember(conversationId, userId);
    const result = await this.messages.markRead(conversationId, userId, upToMessageId.toLowerCase());
    if (result.outcome === 'missing') throw new NotFoundException('message not found in this conversation');
    if (result.outcome === 'unchanged') return;
    await this.realtime.publish(memberIds, {
      type: 'receipt',
      conversationId,
      userId,
      upToMessageId: upToMessageId.toLowerCase(),
      readAt: result.readAt.toISOString(),
    });
  }
}
