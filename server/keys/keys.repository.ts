import { Injectable } from '@nestjs/common';
import { DatabaseService, Query } from '../infrastructure/database.service';
import { DeviceBundle, PreKeyDto, SignedPreKeyDto } from './keys.dto';

export interface KeyUpload {
  identityKey?: string;
  signedPreKey: SignedPreKeyDto;
  oneTimePreKeys: PreKeyDto[];
  lastResortKey?: SignedPreKeyDto;
}

/** A device's bundle with the number of one-time prekeys it has left after this fetch. */
export interface TakenBundle extends DeviceBundle {
  remainingOneTimePreKeys: number;
}

interface BundleRow {
  device_id: number;
  signed_prekey_id: number;
  signed_prekey: string;
  signed_prekey_signature: string;
  last_resort_key_id: number | null;
  last_resort_key: string | null;
  last_resort_key_signature: string | null;
  otk_id: number | null;
  otk_public_key: string | null;
  stored_one_time_prekeys: string;
}

/** Devices that count: not removed, refresh token not expired. */
const LIVE_DEVICE = 'd.removed_at IS NULL AND d.refresh_expires_at > now()';

/**
 * The public-key directory: one bundle per device (signed prekey, last-resort key, one-time prekeys) and the
 * identity key per account. Everything here is on the primary: uploads and fetches both write.
 */
@Injectable()
export class KeysRepository {
  constructor(private readonly db: DatabaseService) {}

  /**
   * Stores the upload of one device; answers how many one-time prekeys it has and whether it has a last-resort key.
   * A removed device has no row to attach keys to (foreign key): its token is refused before this anyway.
   */
  async upload(
    userId: string,
    deviceId: number,
    upload: KeyUpload,
  ): Promise<{ count: number; hasLastResortKey: boolean }> {
    const { signedPreKey: signed, oneTimePreKeys: preKeys, lastResortKey: lastResort } = upload;
    return this.db.transaction(async (query) => {
      if (upload.identityKey)
        await query('UPDATE users SET identity_key = $2, updated_at = now() WHERE id = $1', [
          userId,
          upload.identityKey,
        ]);
      // The last-resort columns are written together or not at all: an upload without one keeps the stored one.
      await query(
        `INSERT INTO key_bundles (user_id, device_id, signed_prekey_id, signed_prekey, signed_prekey_signature,
                                  last_resort_key_id, last_resort_key, last_resort_key_signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (user_id, device_id) DO UPDATE SET signed_prekey_id = excluded.signed_prekey_id,
           signed_prekey = excluded.signed_prekey, signed_prekey_signature = excluded.signed_prekey_signature,
           last_resort_key_id = coalesce(excluded.last_resort_key_id, key_bundles.last_resort_key_id),
           last_resort_key = coalesce(excluded.last_resort_key, key_bundles.last_resort_key),
           last_resort_key_signature = coalesce(excluded.last_resort_key_signature, key_bundles.last_resort_key_signature),
           updated_at = now()`,
        [
          userId,
          deviceId,
          signed.keyId,
          signed.publicKey,
          signed.signature,
          lastResort?.keyId ?? null,
          lastResort?.publicKey ?? null,
          lastResort?.signature ?? null,
        ],
      );
      if (preKeys.length > 0) {
        // A key id already stored keeps its first public key: ids are the client's, re-uploads are harmless.
        await query(
          `INSERT INTO one_time_prekeys (user_id, device_id, key_id, public_key)
           SELECT $1, $2, key_id, public_key FROM unnest($3::int[], $4::text[]) AS k(key_id, public_key)
           ON CONFLICT (user_id, device_id, key_id) DO NOTHING`,
          [userId, deviceId, preKeys.map((key) => key.keyId), preKeys.map((key) => key.publicKey)],
        );
      }
      return this.countIn(query, userId, deviceId);
    });
  }

  async countPreKeys(userId: string, deviceId: number): Promise<{ count: number; hasLastResortKey: boolean }> {
    return this.countIn(this.db.primary, userId, deviceId);
  }

  /** The identity key as stored now (primary: an upload a moment ago counts). */
  async identityKey(userId: string): Promise<string | undefined> {
    const { rows } = await this.db.primary<{ identity_key: string }>('SELECT identity_key FROM users WHERE id = $1', [
      userId,
    ]);
    return rows[0]?.identity_key;
  }

  /** The account's identity key and its live devices that have published a bundle; undefined for no such user. */
  async directory(userId: string): Promise<{ identityKey: string; deviceIds: number[] } | undefined> {
    const { rows } = await this.db.primary<{ identity_key: string; device_ids: number[] }>(
      `SELECT u.identity_key, ARRAY(
         SELECT b.device_id FROM key_bundles b JOIN devices d ON d.user_id = b.user_id AND d.id = b.device_id
         WHERE b.user_id = u.id AND ${LIVE_DEVICE} ORDER BY b.device_id
       ) AS device_ids
       FROM users u WHERE u.id = $1`,
      [userId],
    );
    return rows[0] && { identityKey: rows[0].identity_key, deviceIds: rows[0].device_ids };
  }

  /**
   * Every live device's bundle in one statement, with one one-time prekey taken out of each device in
   * `takeOneTimeFrom` (the others, and those with none left, answer their last-resort key). SKIP LOCKED: two
   * concurrent fetches lock different rows, so they never get the same key and never wait on each other. The count
   * is read from the statement's snapshot, before its own delete, hence the adjustment. The chosen ids are
   * MATERIALIZED before the delete: as `DELETE ... WHERE id IN (SELECT ... SKIP LOCKED)` the planner may rescan the
   * subquery once per candidate row, and each rescan skips the row this statement has just locked and takes the next,
   * emptying the device's whole supply in one fetch.
   */
  async takeBundles(userId: string, takeOneTimeFrom: number[]): Promise<TakenBundle[]> {
    const { rows } = await this.db.primary<BundleRow>(
      `WITH chosen AS MATERIALIZED (
         SELECT k.id FROM unnest($2::int[]) AS t(device_id)
         CROSS JOIN LATERAL (
           SELECT id FROM one_time_prekeys o WHERE o.user_id = $1 AND o.device_id = t.device_id
           ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
         ) k
       ), taken AS (
         DELETE FROM one_time_prekeys o USING chosen c WHERE o.id = c.id
         RETURNING o.device_id, o.key_id, o.public_key
       )
       SELECT b.device_id, b.signed_prekey_id, b.signed_prekey, b.signed_prekey_signature,
              b.last_resort_key_id, b.last_resort_key, b.last_resort_key_signature,
              t.key_id AS otk_id, t.public_key AS otk_public_key,
              (SELECT count(*) FROM one_time_prekeys o WHERE o.user_id = b.user_id AND o.device_id = b.device_id)
                AS stored_one_time_prekeys
       FROM key_bundles b JOIN devices d ON d.user_id = b.user_id AND d.id = b.device_id
       LEFT JOIN taken t ON t.device_id = b.device_id
       WHERE b.user_id = $1 AND ${LIVE_DEVICE}
       ORDER BY b.device_id`,
      [userId, takeOneTimeFrom],
    );
    return rows.map((row) => {
      const stored = Number(row.stored_one_time_prekeys);
      const preKey =
        row.otk_id !== null
          ? { keyId: row.otk_id, publicKey: row.otk_public_key!, lastResort: false }
          : row.last_resort_key !== null
            ? {
                keyId: row.last_resort_key_id!,
                publicKey: row.last_resort_key,
                lastResort: true,
                signature: row.last_resort_key_signature!,
              }
            : null;
      return {
        deviceId: row.device_id,
        signedPreKey: {
          keyId: row.signed_prekey_id,
          publicKey: row.signed_prekey,
          signature: row.signed_prekey_signature,
        },
        preKey,
        remainingOneTimePreKeys: row.otk_id !== null ? stored - 1 : stored,
      };
    });
  }

  private async countIn(
    query: Query,
    userId: string,
    deviceId: number,
  ): Promise<{ count: number; hasLastResortKey: boolean }> {
    const { rows } = await query<{ count: string; has_last_resort: boolean }>(
      `SELECT (SELECT count(*) FROM one_time_prekeys WHERE user_id = $1 AND device_id = $2) AS count,
              EXISTS (SELECT 1 FROM key_bundles WHERE user_id = $1 AND device_id = $2 AND last_resort_key IS NOT NULL)
                AS has_last_resort`,
      [userId, deviceId],
    );
    return { count: Number(rows[0].count), hasLastResortKey: rows[0].has_last_resort };
  }
}
