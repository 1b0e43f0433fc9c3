import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import type { AuthenticatedUser } from '../http/http-types';
import {
  AckDto,
  DeviceMessagesAccepted,
  PendingDeviceMessages,
  PendingQuery,
  SendDeviceMessagesDto,
} from './mailbox.dto';
import { MailboxService } from './mailbox.service';

/** The one route with a body limit of its own (ServerConfig.deviceMessagesBodyLimitBytes, set up in bootstrap). */
export const DEVICE_MESSAGES_PATH = '/v1/devices/messages';

@ApiTags('devices')
@ApiBearerAuth()
@Controller(DEVICE_MESSAGES_PATH.slice(1))
export class MailboxController {
  constructor(private readonly mailbox: MailboxService) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiSummary(
    'sendDeviceMessages',
    'Send messages to devices',
    'Pairwise-encrypted messages (sender keys, key changes), each to one device: a device of someone you share a ' +
      'conversation with, or another of your own. Accepted once durable in the queue; each lands in its device’s ' +
      'mailbox and is pushed on that device’s sockets as `device-message`. All or nothing: one device you may not ' +
      'send to and nothing is sent. The body may be up to 4 MiB. Rate limited per message (`deviceMessages`).',
  )
  @ApiResponse({ status: 202, type: DeviceMessagesAccepted, description: 'Durable in the queue' })
  @ApiErrors(
    [400, 'Invalid body: no messages or more than 1,000, a ciphertext that is not base64 or over 64 KiB'],
    401,
    [404, 'A device does not exist, was removed, or is not one you may send to (nothing was sent)'],
    [413, 'The body is larger than 4 MiB'],
    429,
    [503, 'The queue is unavailable'],
  )
  send(@CurrentUser() user: AuthenticatedUser, @Body() body: SendDeviceMessagesDto): Promise<DeviceMessagesAccepted> {
    return this.mailbox.send(user, body.messages);
  }

  @Get()
  @ApiSummary(
    'pendingDeviceMessages',
    'List your device’s mailbox',
    'What this device has not acknowledged yet, oldest first. Unacknowledged messages expire after 30 days ' +
      '(the operator may configure another period).',
  )
  @ApiResponse({ status: 200, type: PendingDeviceMessages })
  @ApiErrors(400, 401, 429)
  pending(@CurrentUser() user: AuthenticatedUser, @Query() query: PendingQuery): Promise<PendingDeviceMessages> {
    return this.mailbox.pending(user, query.limit);
  }

  @Post('ack')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiSummary(
    'ackDeviceMessages',
    'Acknowledge messages',
    'Deletes these device messages from this device’s mailbox (ids not in it are ignored), the same as the ' +
      '`ack` frame on the socket. Conversation message ids may be acknowledged too: their senders get `delivered`.',
  )
  @ApiResponse({ status: 204, description: 'Deleted from this device’s mailbox' })
  @ApiErrors(400, 401, 429)
  ack(@CurrentUser() user: AuthenticatedUser, @Body() body: AckDto): Promise<void> {
    return this.mailbox.acknowledge(user, body.ids);
  }
}
