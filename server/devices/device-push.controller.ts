import { Body, Controller, Delete, HttpCode, HttpStatus, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import type { AuthenticatedUser } from '../http/http-types';
import { SetPushTokenDto } from './device-push.dto';
import { DevicePushService } from './device-push.service';
import { DeviceIdParams } from './devices.dto';

@ApiTags('devices')
@ApiBearerAuth()
@Controller('v1/devices/:deviceId/push')
export class DevicePushController {
  constructor(private readonly push: DevicePushService) {}

  @Put()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiSummary(
    'setDevicePush',
    'Register a device for push',
    'While the device has no open WebSocket, each conversation message for it sends one wake-up through this ' +
      'provider. The push names no sender and carries no content: at most the conversation id. Replaces any ' +
      'earlier registration of the device.',
  )
  @ApiResponse({ status: 204, description: 'The device is registered' })
  @ApiErrors(400, 401, [404, 'No such device on your account'], 429)
  set(
    @CurrentUser() user: AuthenticatedUser,
    @Param() params: DeviceIdParams,
    @Body() body: SetPushTokenDto,
  ): Promise<void> {
    return this.push.set(user, params.deviceId, body);
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiSummary('clearDevicePush', 'Stop pushes to a device', 'Forgets the device’s push token.')
  @ApiResponse({ status: 204, description: 'The device gets no more pushes' })
  @ApiErrors(400, 401, [404, 'No such device on your account'], 429)
  clear(@CurrentUser() user: AuthenticatedUser, @Param() params: DeviceIdParams): Promise<void> {
    return this.push.clear(user, params.deviceId);
  }
}
