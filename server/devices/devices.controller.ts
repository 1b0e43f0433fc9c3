import { Controller, Delete, Get, HttpCode, HttpStatus, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators';
import { ApiErrors, ApiSummary } from '../http/api-docs';
import type { AuthenticatedUser } from '../http/http-types';
import { DeviceIdParams, DeviceView } from './devices.dto';
import { DevicesService } from './devices.service';

@ApiTags('devices')
@ApiBearerAuth()
@Controller('v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get()
  @ApiSummary('listDevices', 'List your devices', 'The account’s devices that are logged in, oldest first.')
  @ApiResponse({ status: 200, type: [DeviceView] })
  @ApiErrors(401, 429)
  list(@CurrentUser() user: AuthenticatedUser): Promise<DeviceView[]> {
    return this.devices.list(user);
  }

  @Delete(':deviceId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiSummary(
    'removeDevice',
    'Remove one of your devices',
    'For a lost or replaced device: its tokens stop working, its sockets close with 4001 on every instance, and ' +
      'its keys and mailbox are deleted. Everyone who shares a conversation with you gets `devices-changed`.',
  )
  @ApiResponse({ status: 204, description: 'The device is removed' })
  @ApiErrors(400, 401, [404, 'No such device on your account'], 429)
  remove(@CurrentUser() user: AuthenticatedUser, @Param() params: DeviceIdParams): Promise<void> {
    return this.devices.remove(user, params.deviceId);
  }
}
