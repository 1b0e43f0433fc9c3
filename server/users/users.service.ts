import { Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { PasswordHasher } from '../auth/password-hasher';
import { SessionsRepository } from '../auth/sessions.repository';
import { UserProfile, UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly hasher: PasswordHasher,
  ) {}

  async profile(userId: string): Promise<UserProfile> {
    const profile = await this.users.findProfile(userId);
    if (!profile) throw new NotFoundException('user not found');
    return profile;
  }

  async updateProfile(userId: string, changes: { displayName?: string | null }): Promise<UserProfile> {
    await this.users.update(userId, changes);
    return this.profile(userId);
  }

  /** Changing the password ends every session of the user, on every instance. */
  async changePassword(userId: string, currentPassword: string, newPassword: string): Promise<void> {
    const hash = await this.users.findPasswordHash(userId);
    if (!hash || !(await this.hasher.verify(hash, currentPassword)))
      throw new UnauthorizedException('current password is wrong');
    await this.users.update(userId, { passwordHash: await this.hasher.hash(newPassword) });
    await this.sessions.revokeAll(userId);
  }
}
