import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import type { DeviceRecord } from './devices.repository';

export class DeviceView {
  @ApiProperty({ description: 'The device’s id within the account' }) id: number;
  @ApiProperty() name: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ description: 'Its last login or token refresh' }) lastSeenAt: string;
  @ApiProperty({ description: 'The device making this request' }) current: boolean;
}

export const deviceView = (device: DeviceRecord, currentDeviceId: number): DeviceView => ({
  id: device.id,
  name: device.name,
  createdAt: device.createdAt.toISOString(),
  lastSeenAt: device.lastSeenAt.toISOString(),
  current: device.id === currentDeviceId,
});

export class DeviceIdParams {
  @ApiProperty({ type: 'integer', minimum: 1 })
  @Type(() => Number)
  @IsInt({ message: 'deviceId must be a whole number' })
  @Min(1, { message: 'deviceId must be 1 or more' })
  @Max(2_147_483_647, { message: 'deviceId is too large' })
  deviceId: number;
}
