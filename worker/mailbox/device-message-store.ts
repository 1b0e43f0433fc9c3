import { DataSource } from 'typeorm';
import { DeviceMessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { isPermanentDatabaseError, StoreFailure, storeFailure } from '../messages/message-store';

/**
 * `stored`: new in the mailbox; `duplicate`: already there (a redelivery); `gone`: the recipient device is removed
 * or never existed, so nothing was stored and nothing ever will be; `failed`: the statement failed (`permanent`
 * for a reason of this message's data, `unavailable` when the primary could not be reached).
 */
export type DeviceStoreResult = { status: 'stored' } | { status: 'duplicate' } | { status: 'gone' } | StoreFailure;

/**
 * One statement for the batch: insert each message whose recipient device is live (ON CONFLICT (id) DO NOTHING:
 * the id is the API's, so a redelivery is a no-op), and say per input row whether it was inserted now, was
 * there before (the EXISTS reads the snapshot from before the insert), or neither (device gone). WITH ORDINALITY
 * keeps seq in queue order, which is each mailbox's order (its FIFO group).
 */
const INSERT_BATCH = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::int[], $6::text[], $7::timestamptz[])
      WITH ORDINALITY AS t(id, user_id, device_id, sender_id, sender_device_id, ciphertext, sent_at, ord)
  ), inserted AS (
    INSERT INTO device_messages (id, user_id, device_id, sender_id, sender_device_id, ciphertext, sent_at, expires_at)
    SELECT i.id, i.user_id, i.device_id, i.sender_id, i.sender_device_id, i.ciphertext, i.sent_at,
           i.sent_at + make_interval(days => $8)
      FROM input i JOIN devices d ON d.user_id = i.user_id AND d.id = i.device_id AND d.removed_at IS NULL
        AND d.refresh_expires_at > now()
     ORDER BY i.ord
     -- A removal of the device in flight is waited for, and then seen: its DELETE of the mailbox cannot miss a row.
     FOR SHARE OF d
    ON CONFLICT (id) DO NOTHING
    RETURNING id
  )
  SELECT i.id, EXISTS (SELECT 1 FROM inserted n WHERE n.id = i.id) AS inserted,
         EXISTS (SELECT 1 FROM device_messages m WHERE m.id = i.id) AS existed
    FROM input i`;

interface Row {
  id: string;
  inserted: boolean;
  existed: boolean;
}

/** Writes device messages into their recipients' mailboxes on the primary, idempotently. */
export class DeviceMessageStore {
  constructor(
    private readonly dataSource: DataSource,
    /** MAILBOX_RETENTION_DAYS: a row expires this long after it was sent. */
    private readonly retentionDays: number,
  ) {}

  /**
   * Results in the order of `bodies`. When the statement fails for a reason of the data (a foreign key: the
   * device's account or the sender deleted meanwhile), each message is tried alone so only the bad one fails.
   */
  async storeBatch(bodies: DeviceMessageQueueBodyV1[]): Promise<DeviceStoreResult[]> {
    if (bodies.length === 0) return [];
    try {
      return await this.insert(bodies);
    } catch (error) {
      if (bodies.length === 1 || !isPermanentDatabaseError(error)) return bodies.map(() => storeFailure(error));
      const results: DeviceStoreResult[] = [];
      for (const body of bodies) results.push(...(await this.insert([body]).catch((single) => [storeFailure(single)])));
      return results;
    }
  }

  private async insert(bodies: DeviceMessageQueueBodyV1[]): Promise<DeviceStoreResult[]> {
    const unique = [...new Map(bodies.map((body) => [body.id.toLowerCase(), body])).values()];
    const rows: Row[] = await this.dataSource.query(INSERT_BATCH, [
      unique.map((body) => body.id),
      unique.map((body) => body.userId),
      unique.map((body) => body.deviceId),
      unique.map((body) => body.senderId),
      unique.map((body) => body.senderDeviceId),
      unique.map((body) => body.ciphertext),
      unique.map((body) => body.sentAt),
      this.retentionDays,
    ]);
    const byId = new Map(rows.map((row) => [row.id.toLowerCase(), row]));
    const reported = new Set<string>();
    return bodies.map((body): DeviceStoreResult => {
      const id = body.id.toLowerCase();
      const row = byId.get(id);
      const first = !reported.has(id);
      reported.add(id);
      if (row?.inserted) return { status: first ? 'stored' : 'duplicate' };
      return { status: row?.existed ? 'duplicate' : 'gone' };
    });
  }
}
