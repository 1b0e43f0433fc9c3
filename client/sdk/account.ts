/** Who this device is: the account and device id it was registered or logged in as, kept with its tokens. */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import { DeviceAddress } from '../crypto/address';
import { ClientStateError } from './errors';
import { Transport } from './transport';

const ACCOUNT_KEY = 'account';

interface AccountRecord {
  userId: string;
  username: string;
  deviceId: number;
}

/** What register and login answer. */
export interface SessionAnswer {
  user: { id: string };
  deviceId: number;
  accessToken: string;
  refreshToken: string;
}

export class AccountStore {
  private record: AccountRecord | undefined;

  constructor(
    private readonly store: KeyValueStore,
    private readonly transport: Transport,
  ) {}

  async load(): Promise<void> {
    this.record = await getJson<AccountRecord>(this.store, ACCOUNT_KEY);
  }

  get address(): DeviceAddress | undefined {
    return this.record ? { userId: this.record.userId, deviceId: this.record.deviceId } : undefined;
  }

  self(): DeviceAddress {
    const address = this.address;
    if (!address) throw new ClientStateError('no account on this device: register or login first');
    return address;
  }

  requireNone(): void {
    if (this.record) throw new ClientStateError(`this store already holds device ${this.record.deviceId}`);
  }

  /** Tokens first: a crash after them still leaves a device that can sign in. */
  async save(answer: SessionAnswer, username: string): Promise<void> {
    await this.transport.setTokens({ accessToken: answer.accessToken, refreshToken: answer.refreshToken });
    const record = { userId: answer.user.id, username, deviceId: answer.deviceId };
    await putJson(this.store, ACCOUNT_KEY, record);
    this.record = record;
  }
}
