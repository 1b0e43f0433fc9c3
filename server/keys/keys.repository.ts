import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../infrastructure/database.service';
import { KeyBundle, PreKeyDto, SignedPreKeyDto } from './keys.dto';

/** The public-key directory. Everything here is on the primary: uploads and fetches both write. */
@Injectable()
export class KeysRepository {
  constructor(private readonly db: DatabaseService) {}

  async upload(
    userId: string,
    identityKey: string | undefined,
    signed: SignedPreKeyDto,
    preKeys: PreKeyDto[],
  ): Promise<number> {
    return this.db.transaction(async (query) => {
      if (identityKey)
        await query('UPDATE users SET identity_key = $2, updated_at = now() WHERE id = $1', [userId, identityKey]);
      await query(
        `INSERT INTO key_bundles (user_id, signed_prekey_id, signed_prekey, signed_prekey_signature) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id) DO UPDATE SET signed_prekey_id = excluded.signed_prekey_id, signed_prekey = excluded.signed_prekey,
           signed_prekey_signature = excluded.signed_prekey_signature, updated_at = now()`,
        [userId, signed.keyId, signed.publicKey, signed.signature],
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
      const { rows } = await query<{ count: string }>('SELECT count(*) FROM one_time_prekeys WHERE user_id = $1', [
        userId,
      ]);
      return Number(rows[0].count);
    });
  }

  async countPreKeys(userId: string): Promise<number> {
    const { rows } = await this.db.primary<{ count: string }>(
      'SELECT count(*) FROM one_time_prekeys WHERE user_id = $1',
      [userId],
    );
    return Number(rows[0].count);
  }

  /**
   * The bundle with one one-time prekey taken out in the same statement. SKIP LOCKED: two concurrent
   * fetches lock different rows, so they never get the same key and never wait on each other.
   */
  async takeBundle(userId: string): Promise<KeyBundle | undefined> {
    const { rows } = await this.db.primary<{
      identity_key: string;
      signed_prekey_id: number;
      signed_prekey: string;
      signed_prekey_signature: string;
      otk_id: number | null;
      otk_public_key: string | null;
    }>(
      `WITH taken AS (
         DELETE FROM one_time_prekeys WHERE id = (
           SELECT id FROM one_time_prekeys WHERE user_id = $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
         ) RETURNING key_id, public_key
       )
       SELECT u.identity_key, b.signed_prekey_id, b.signed_prekey, b.signed_prekey_signature,
              t.key_id AS otk_id, t.public_key AS otk_public_key
       FROM users u JOIN key_bundles b ON b.user_id = u.id LEFT JOIN taken t ON true
       WHERE u.id = $1`,
      [userId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      userId,
      identityKey: row.identity_key,
      signedPreKey: {
        keyId: row.signed_prekey_id,
        publicKey: row.signed_prekey,
        signature: row.signed_prekey_signature,
      },
      oneTimePreKey: row.otk_id === null ? null : { keyId: row.otk_id, publicKey: row.otk_public_key! },
    };
  }
}
