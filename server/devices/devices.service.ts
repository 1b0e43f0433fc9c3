import { ConflictException, Inject, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { ServerConfig } from '../config/server-config';
import type { AuthenticatedUser } from '../http/http-types';
import { RealtimePublisher } from '../realtime/realtime-publisher.service';
import { UsersRepository } from '../users/users.repository';
import { DeviceView, deviceView } from './devices.dto';
import {
  DeviceLimitError,
  DeviceRecord,
  DevicesRepository,
  IssuedDevice,
  PasswordChangedError,
} from './devices.repository';

/**
 * An account's devices, and who hears when they change: the account's other devices (`device-added`) and
 * everyone who shares a conversation with the account (`devices-changed`: fetch the key bundles again and send
 * sender keys to the new device, or stop sending them to a removed one).
 */
@Injectable()
export class DevicesService {
  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly devices: DevicesRepository,
    private readonly users: UsersRepository,
    private readonly realtime: RealtimePublisher,
  ) {}

  /**
   * A login's device (see DevicesRepository.create); the account's other devices and contacts hear of it unless it
   * is the account's first. `passwordHash` is the hash the caller checked the password against.
   */
  async add(userId: string, name: string | undefined, announce: boolean, passwordHash: string): Promise<IssuedDevice> {
    let device: IssuedDevice;
    try {
      device = await this.devices.create(userId, name, this.config.jwt.refreshTokenTtlSeconds, passwordHash);
    } catch (error) {
      if (error instanceof DeviceLimitError)
        throw new ConflictException(`${error.message} (DELETE /v1/devices/{deviceId}), then log in again`);
      if (error instanceof PasswordChangedError) throw new UnauthorizedException('invalid username or password');
      throw error;
    }
    if (announce) {
      await this.realtime.publish([userId], {
        type: 'device-added',
        userId,
        deviceId: device.deviceId,
        name: name ?? `device ${device.deviceId}`,
        createdAt: new Date().toISOString(),
      });
      await this.announceChanged(userId);
    }
    return device;
  }

  async list(user: AuthenticatedUser): Promise<DeviceView[]> {
    return (await this.devices.list(user.id)).map((device) => deviceView(device, user.deviceId));
  }

  /** One of the caller's own devices (the calling one too: that is logout). */
  async remove(user: AuthenticatedUser, deviceId: number): Promise<void> {
    const removed = await this.devices.remove(user.id, deviceId);
    if (!removed) throw new NotFoundException('no such device on your account');
    await this.announceChanged(user.id);
  }

  /** Password change: every other device of the account is removed. */
  async removeAllBut(user: AuthenticatedUser): Promise<DeviceRecord[]> {
    const removed = await this.devices.removeAllBut(user.id, user.deviceId);
    if (removed.length > 0) await this.announceChanged(user.id);
    return removed;
  }

  /** A device was removed behind the account's back (a reused refresh token). */
  async removed(userId: string): Promise<void> {
    await this.announceChanged(userId);
  }

  private async announceChanged(userId: string): Promise<void> {
    const contacts = await this.users.contactsOf(userId);
    await this.realtime.publish([userId, ...contacts], { type: 'devices-changed', userId });
  }
}
