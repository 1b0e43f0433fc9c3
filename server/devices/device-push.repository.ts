import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../infrastructure/database.service';
import type { PushTokenProvider } from '../../common/contracts/push-tokens';

/**
 * A device's push registration (devices.push_provider/push_token/push_updated_at). Writes go to the primary and
 * touch only live devices of the caller's account, so another account's device id is simply "not found".
 */
@Injectable()
export class DevicePushRepository {
  constructor(private readonly db: DatabaseService) {}

  /** False when the user has no such live device. */
  async set(userId: string, deviceId: number, provider: PushTokenProvider, token: string): Promise<boolean> {
    return this.update(userId, deviceId, [provider, token]);
  }

  /** False when the user has no such live device (clearing an already clear registration is true). */
  async clear(userId: string, deviceId: number): Promise<boolean> {
    return this.update(userId, deviceId, [null, null]);
  }

  private async update(userId: string, deviceId: number, [provider, token]: [string | null, string | null]) {
    const { rows } = await this.db.primary<{ id: number }>(
      `UPDATE devices SET push_provider = $3, push_token = $4, push_updated_at = now()
       WHERE user_id = $1 AND id = $2 AND removed_at IS NULL RETURNING id`,
      [userId, deviceId, provider, token],
    );
    return rows.length > 0;
  }
}
