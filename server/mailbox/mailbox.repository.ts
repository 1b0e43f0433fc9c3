import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../infrastructure/database.service';

export interface DeviceAddress {
  userId: string;
  deviceId: number;
}

export interface PendingRow {
  id: string;
  sender_id: string;
  sender_device_id: number;
  ciphertext: string;
  sent_at: Date;
}

/**
 * Device-to-device mailboxes (`device_messages`; the worker writes them). Every query runs on the primary: a
 * device added or a conversation created a moment ago must be addressable at once, and an acknowledged row must
 * never show again (a replica that has not replayed the DELETE yet would list it).
 */
@Injectable()
export class MailboxRepository {
  constructor(private readonly db: DatabaseService) {}

  /**
   * The first of `targets` the sender may not write to, or undefined when every one is allowed: a live device
   * (not removed, refresh token not expired) of the sender's own account other than the sending one, or of
   * someone who shares a conversation with the sender. Contacts are found once per distinct user.
   */
  async firstUnreachable(sender: DeviceAddress, targets: DeviceAddress[]): Promise<DeviceAddress | undefined> {
    const { rows } = await this.db.primary<{ user_id: string; device_id: number }>(
      `WITH target AS (
         SELECT DISTINCT * FROM unnest($3::uuid[], $4::int[]) AS t(user_id, device_id)
       ), contact AS (
         SELECT DISTINCT theirs.user_id
           FROM conversation_members mine
           JOIN conversation_members theirs ON theirs.conversation_id = mine.conversation_id
          WHERE mine.user_id = $1 AND theirs.user_id IN (SELECT user_id FROM target WHERE user_id <> $1)
       )
       SELECT t.user_id, t.device_id FROM target t
        WHERE (t.user_id = $1 AND t.device_id = $2)
           OR (t.user_id <> $1 AND t.user_id NOT IN (SELECT user_id FROM contact))
           OR NOT EXISTS (
                SELECT 1 FROM devices d
                 WHERE d.user_id = t.user_id AND d.id = t.device_id
                   AND d.removed_at IS NULL AND d.refresh_expires_at > now())
        LIMIT 1`,
      [sender.userId, sender.deviceId, targets.map((t) => t.userId), targets.map((t) => t.deviceId)],
    );
    return rows[0] && { userId: rows[0].user_id, deviceId: rows[0].device_id };
  }

  /** What the device has not acknowledged and has not expired, oldest first (the recipient index). */
  async pending(device: DeviceAddress, limit: number): Promise<PendingRow[]> {
    const { rows } = await this.db.primary<PendingRow>(
      `SELECT id, sender_id, sender_device_id, ciphertext, sent_at FROM device_messages
        WHERE user_id = $1 AND device_id = $2 AND expires_at > now()
        ORDER BY seq LIMIT $3`,
      [device.userId, device.deviceId, limit],
    );
    return rows;
  }

  /** Deletes the device's own rows among `ids` (never another device's); answers the ids deleted. */
  async acknowledge(device: DeviceAddress, ids: string[]): Promise<Set<string>> {
    const { rows } = await this.db.primary<{ id: string }>(
      `DELETE FROM device_messages WHERE user_id = $1 AND device_id = $2 AND id = ANY($3::uuid[]) RETURNING id`,
      [device.userId, device.deviceId, ids],
    );
    return new Set(rows.map((row) => row.id));
  }
}
