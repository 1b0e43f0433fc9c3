import { isPushTokenProvider, PushTokenProvider } from '../../common/contracts/push-tokens';

/** A device that can be woken: its push registration. */
export interface PushTarget {
  userId: string;
  deviceId: number;
  provider: PushTokenProvider;
  token: string;
}

/** SQL runner: a TypeORM DataSource's `query` fits. */
export interface Sql {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

interface TargetRow {
  user_id: string;
  id: number;
  push_provider: string;
  push_token: string;
}

/**
 * The live devices with a push token, read from the primary (a token set a moment ago counts). The worker's role
 * may read devices and write only their push columns: enough to forget a token the provider calls dead.
 */
export class PushTargets {
  constructor(private readonly sql: Sql) {}

  /** Every registered device of these users, in one query. */
  async of(userIds: string[]): Promise<PushTarget[]> {
    if (userIds.length === 0) return [];
    const rows = (await this.sql.query(
      `SELECT user_id, id, push_provider, push_token FROM devices
       WHERE user_id = ANY($1::uuid[]) AND push_token IS NOT NULL AND removed_at IS NULL AND refresh_expires_at > now()`,
      [[...new Set(userIds)]],
    )) as TargetRow[];
    return rows.flatMap((row) =>
      isPushTokenProvider(row.push_provider)
        ? [{ userId: row.user_id, deviceId: row.id, provider: row.push_provider, token: row.push_token }]
        : [],
    );
  }

  /** Forgets a token the provider refused as dead, unless the device has registered another one meanwhile. */
  async forget(target: PushTarget): Promise<void> {
    await this.sql.query(
      `UPDATE devices SET push_provider = NULL, push_token = NULL, push_updated_at = now()
       WHERE user_id = $1 AND id = $2 AND push_token = $3`,
      [target.userId, target.deviceId, target.token],
    );
  }
}
