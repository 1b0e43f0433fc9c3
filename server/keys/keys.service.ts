import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import type { AuthenticatedUser } from '../http/http-types';
import { PasswordHasher } from '../auth/password-hasher';
import { RateLimiter } from '../rate-limits/rate-limiter.service';
import { RealtimePublisher } from '../realtime/realtime-publisher.service';
import { UsersRepository } from '../users/users.repository';
import { KeyBundles, PreKeyCount, UploadKeysDto } from './keys.dto';
import { KeysRepository, TakenBundle } from './keys.repository';

/** A device with fewer one-time prekeys than this after a fetch is told to upload more (`prekeys-low`). */
export const PREKEYS_LOW_THRESHOLD = 10;

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
   * Uploads the calling device's prekeys. The identity key is the account's: replacing it needs the password as well
   * as the access token (a stolen token alone must not let anyone swap the key others encrypt to), and everyone who
   * shares a conversation with the user hears of it. Uploading the key already stored is no change and needs nothing.
   */
  async upload(user: AuthenticatedUser, input: UploadKeysDto): Promise<PreKeyCount> {
    const userId = user.id;
    const changing = input.identityKey !== undefined && input.identityKey !== (await this.keys.identityKey(userId));
    if (changing) await this.reauthenticate(user, input.password);
    const stored = await this.keys.upload(userId, user.deviceId, {
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

  async count(user: AuthenticatedUser): Promise<PreKeyCount> {
    const stored = await this.keys.countPreKeys(user.id, user.deviceId);
    return { oneTimePreKeyCount: stored.count, hasLastResortKey: stored.hasLastResortKey };
  }

  /**
   * One bundle per device of the target. One requester may fetch one target's bundles `keyFetchPair` times per window
   * (429 beyond). All requesters together get `keyFetchTarget` one-time prekeys of each target device per window;
   * beyond that, and whenever none is left, the device's bundle carries its last-resort key instead, so a session
   * can still start. A device left with fewer than PREKEYS_LOW_THRESHOLD one-time prekeys is told to upload more.
   */
  async fetchBundles(requesterId: string, targetId: string): Promise<KeyBundles> {
    await this.limiter.consume('keyFetchPair', `${requesterId}|${targetId}`);
    const directory = await this.keys.directory(targetId);
    if (!directory || directory.deviceIds.length === 0)
      throw new NotFoundException('user not found or has not published keys');
    const budgets = await Promise.all(
      directory.deviceIds.map(async (deviceId) => ({
        deviceId,
        budget: await this.limiter.reserve('keyFetchTarget', `${targetId}|${deviceId}`),
      })),
    );
    const allowed = budgets.filter(({ budget }) => !budget.over).map(({ deviceId }) => deviceId);
    const bundles = await this.keys.takeBundles(targetId, allowed);
    // Only one-time prekeys handed out count against a device's budget.
    const handedOut = new Set(bundles.filter((b) => b.preKey && !b.preKey.lastResort).map((b) => b.deviceId));
    await Promise.all(
      budgets
        .filter(({ deviceId, budget }) => !budget.over && !handedOut.has(deviceId))
        .map(({ budget }) => budget.release()),
    );
    // Its devices were removed between the two statements.
    if (bundles.length === 0) throw new NotFoundException('user not found or has not published keys');
    await this.warnLow(targetId, bundles);
    return {
      userId: targetId,
      identityKey: directory.identityKey,
      devices: bundles.map(({ deviceId, signedPreKey, preKey }) => ({ deviceId, signedPreKey, preKey })),
    };
  }

  private async warnLow(userId: string, bundles: TakenBundle[]): Promise<void> {
    const low = bundles.filter((bundle) => bundle.remainingOneTimePreKeys < PREKEYS_LOW_THRESHOLD);
    await Promise.all(
      low.map((bundle) =>
        this.realtime.publishToDevices([{ userId, deviceId: bundle.deviceId }], {
          type: 'prekeys-low',
          remaining: bundle.remainingOneTimePreKeys,
        }),
      ),
    );
  }

  /**
   * Wrong passwords are counted per device, so a stolen token can neither guess fast nor use up the owner's own
   * attempts (the owner's device has a count of its own); a right password gives its place back.
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
