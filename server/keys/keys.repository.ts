import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../infrastructure/database.service';
import { KeyBundle, PreKeyDto, SignedPreKeyDto } from './keys.dto';

export interface KeyUpload {
  identityKey?: string;
  signedPreKey: SignedPreKeyDto;
  oneTimePreKeys: PreKeyDto[];
  lastResortKey?: SignedPreKeyDto;
}

interface BundleRow {
  identity_key: string;
  signed_prekey_id: number;
  signed_prekey: string;
  signed_prekey_signature: string;
  last_resort_key_id: number | null;
  last_resort_key: string | null;
  last_resort_key_signature: string | null;
  otk_id: number | null;
  otk_public_key: string | null;
}

/** The public-key directory. Everything here is on the primary: uploads and fetches both write. */
@Injectable()
export class KeysRepository {
  constructor(private readonly db: DatabaseService) {}

  /** Stores the upload; answers how many one-time prekeys are stored and whether a last-resort key is. */
  async upload(userId: string, upload: KeyUpload): Promise<{ count: number; hasLastResortKey: boolean }> {
    const { signedPreKey: signed, oneTimePreKeys: preKeys, lastResortKey: lastResort } = upload;
    return this.db.transaction(async (query) => {
      if (upload.identityKey)
        await query('UPDATE users SET identity_key = $2, updated_at = now() WHERE id = $1', [
          userId,
          upload.identityKey,
        ]);
      // The last-resort columns are written together or not at all: an upload without one keeps the stored one.
      await query(
        `INSERT INTO key_bundles (user_id, signed_prekey_id, signed_prekey, signed_prekey_signature,
                                  last_resort_key_id, last_resort_key, last_resort_key_signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (user_id) DO UPDATE SET signed_prekey_id = excluded.signed_prekey_id, signed_prekey = excluded.signed_prekey,
           signed_prekey_signature = excluded.signed_prekey_signature,
           last_resort_key_id = coalesce(excluded.last_resort_key_id, key_bundles.last_resort_key_id),
           last_resort_key = coalesce(excluded.last_resort_key, key_bundles.last_resort_key),
           last_resort_key_signature = coalesce(excluded.last_resort_key_signature, key_bundles.last_resort_key_signature),
           updated_at = now()`,
        [
          userId,
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
          `INSERT INTO one_time_prekeys (user_id, key_id, public_key)
           SELECT $1, key_id, public_key FROM unnest($2::int[], $3::text[]) AS k(key_id, public_key)
           ON CONFLICT (user_id, key_id) DO NOTHING`,
          [userId, preKeys.map((key) => key.keyId), preKeys.map((key) => key.publicKey)],
        );
      }
      const { rows } = await query<{ count: string; has_last_resort: boolean }>(
        `SELECT (SELECT count(*) FROM one_time_prekeys WHERE user_id = $1) AS count,
                EXISTS (SELECT 1 FROM key_bundles WHERE user_id = $1 AND last_resort_key IS NOT NULL) AS has_last_resort`,
        [userId],
      );
      return { count: Number(rows[0].count), hasLastResortKey: rows[0].has_last_resort };
    });
  }

  async countPreKeys(userId: string): Promise<{ count: number; hasLastResortKey: boolean }> {
    const { rows } = await this.db.primary<{ count: string; has_last_resort: boolean }>(
      `SELECT (SELECT count(*) FROM one_time_prekeys WHERE user_id = $1) AS count,
              EXISTS (SELECT 1 FROM key_bundles WHERE user_id = $1 AND last_resort_key IS NOT NULL) AS has_last_resort`,
      [userId],
    );
    return { count: Number(rows[0].count), hasLastResortKey: rows[0].has_last_resort };
  }

  /** The identity key as stored now (primary: an upload a moment ago counts). */
  async identityKey(userId: string): Promise<string | undefined> {
    const { rows } = await this.db.primary<{ identity_key: string }>('SELECT identity_key FROM users WHERE id = $1', [
      userId,
    ]);
    return rows[0]?.identity_key;
  }

  /**
   * The bundle, with one one-time prekey taken out in the same statement when `takeOneTime` (otherwise none is
   * touched), and the last-resort key for when there is none. SKIP LOCKED: two concurrent fetches lock
   * different rows, so they never get the same key and never wait on each other.
   */
  async takeBundle(userId: string, takeOneTime: boolean): Promise<KeyBundle | undefined> {
    const { rows } = await this.db.primary<BundleRow>(
      `WITH taken AS (
         DELETE FROM one_time_prekeys WHERE id = (
           SELECT id FROM one_time_prekeys WHERE $2::boolean AND user_id = $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
         ) RETURNING key_id, public_key
       )
       SELECT u.identity_key, b.signed_prekey_id, b.signed_prekey, b.signed_prekey_signature,
              b.last_resort_key_id, b.last_resort_key, b.last_resort_key_signature,
              t.key_id AS otk_id, t.public_key AS otk_public_key
       FROM users u JOIN key_bundles b ON b.user_id = u.id LEFT JOIN taken t ON true
       WHERE u.id = $1`,
      [userId, takeOneTime],
    );
    const row = rows[0];
    if (!row) return undefined;
    const oneTimePreKey = row.otk_id === null ? null : { keyId: row.otk_id, publicKey: row.otk_public_key! };
    const lastResortKey =
      oneTimePreKey || row.last_resort_key === null
        ? null
        : { keyId: row.last_resort_key_id!, publicKey: row.last_resort_key, signature: row.last_resort_key_signature! };
    return {
      userId,
      identityKey: row.identity_key,
      signedPreKey: {
        keyId: row.signed_prekey_id,
        publicKey: row.signed_prekey,
        signature: row.signed_prekey_signature,
      },
      oneTimePreKey,
      lastResortKey,
      lastResort: lastResortKey !== null,
    };
  }
}
