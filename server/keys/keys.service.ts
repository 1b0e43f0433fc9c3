import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import type { AuthenticatedUser } from '../http/http-types';
import { PasswordHasher } from '../auth/password-hasher';
import { RateLimiter } from '../rate-limits/rate-limiter.service';
import { RealtimePublisher } from '../realtime/realtime-publisher.service';
import { UsersRepository } from '../users/users.repository';
import { KeyBundle, PreKeyCount, UploadKeysDto } from './keys.dto';
import { KeysRepository } from './keys.repository';

@Injectable()
export class KeysService {
  constructor(
    private readonly keys: KeysRepository,
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly limiter: RateLimiter,
    private readonly realtime: RealtimePublisher,
  ) {}

  /**
   * Replacing the identity key needs the password as well as the access token (a stolen token alone must
   * not let anyone swap the key others encrypt to), and everyone who shares a conversation with the user
   * hears of it. Uploading the key already stored is no change and needs nothing.
   */
  async upload(user: AuthenticatedUser, input: UploadKeysDto): Promise<PreKeyCount> {
    const userId = user.id;
    const changing = input.identityKey !== undefined && input.identityKey !== (await this.keys.identityKey(userId));
    if (changing) await this.reauthenticate(user, input.password);
    const stored = await this.keys.upload(userId, {
      identityKey: changing ? input.identityKey : undefined,
      signedPreKey: input.signedPreKey,
      oneTimePreKeys: input.oneTimePreKeys,
      lastResortKey: input.lastResortKey,
    });
    if (changing) {
      await this.users.invalidate(userId);
      const contacts = await this.users.contactsOf(userId);
      await this.realtime.publish([userId, ...contacts], {
        type: 'identity-changed',
        userId,
        identityKey: input.identityKey!,
        changedAt: new Date().toISOString(),
      });
    }
    return { oneTimePreKeyCount: stored.count, hasLastResortKey: stored.hasLastResortKey };
  }

  async count(userId: string): Promise<PreKeyCount> {
    const stored = await this.keys.countPreKeys(userId);
    return { oneTimePreKeyCount: stored.count, hasLastResortKey: stored.hasLastResortKey };
  }

  /**
   * One requester may fetch one target's bundle `keyFetchPair` times per window (429 beyond). All requesters
   * together get `keyFetchTarget` one-time prekeys of one target per window; beyond that, and whenever none is
   * left, the bundle carries the target's last-resort key instead, so a session can still start.
   */
  async fetchBundle(requesterId: string, targetId: string): Promise<KeyBundle> {
    await this.limiter.consume('keyFetchPair', `${requesterId}|${targetId}`);
    const budget = await this.limiter.reserve('keyFetchTarget', targetId);
    const bundle = await this.keys.takeBundle(targetId, !budget.over);
    // Only one-time prekeys handed out count against the target's budget.
    if (!budget.over && !bundle?.oneTimePreKey) await budget.release();
    if (!bundle) throw new NotFoundException('user not found or has not published keys');
    return bundle;
  }

  /**
   * Wrong passwords are counted per session, so a stolen token can neither guess fast nor use up the owner's own
   * attempts (the owner's session has a count of its own); a right password gives its place back.
   */
  private async reauthenticate(user: AuthenticatedUser, password: string | undefined): Promise<void> {
    if (!password)
      throw new ForbiddenException('changing the identity key requires the account password in "password"');
    const attempt = await this.limiter.reserve('identityKeyChange', `${user.id}|${user.sessionId}`);
    if (attempt.over) {
      await attempt.release();
      throw attempt.refuse();
    }
    const hash = await this.users.findPasswordHash(user.id);
    if (!hash || !(await this.hasher.verify(hash, password)))
      throw new ForbiddenException('password is wrong; the identity key was not changed');
    await attempt.release();
  }
}
