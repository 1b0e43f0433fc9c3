import { Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { PasswordHasher } from '../auth/password-hasher';
import { DevicesService } from '../devices/devices.service';
import type { AuthenticatedUser } from '../http/http-types';
import { UserProfile, UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly devices: DevicesService,
    private readonly hasher: PasswordHasher,
  ) {}

  async profile(userId: string): Promise<UserProfile> {
    const profile = await this.users.findProfile(userId);
    if (!profile) throw new NotFoundException('user not found');
    return profile;
  }

  /** Clients address users by name; everything else takes ids. */
  async profileByUsername(username: string): Promise<UserProfile> {
    const profile = await this.users.findProfileByUsername(username);
    if (!profile) throw new NotFoundException('user not found');
    return profile;
  }

  async updateProfile(userId: string, changes: { displayName?: string | null }): Promise<UserProfile> {
    await this.users.update(userId, changes);
    return this.profile(userId);
  }

  /**
   * Changing the password removes every other device of the account, on every instance: whoever else knew the old
   * password and logged in with it is out. The device that changed it stays.
   */
  async changePassword(user: AuthenticatedUser, currentPassword: string, newPassword: string): Promise<void> {
    const userId = user.id;
    const hash = await this.users.findPasswordHash(userId);
    if (!hash || !(await this.hasher.verify(hash, currentPassword)))
      throw new UnauthorizedException('current password is wrong');
    await this.users.update(userId, { passwordHash: await this.hasher.hash(newPassword) });
    await this.devices.removeAllBut(user);
  }
}
