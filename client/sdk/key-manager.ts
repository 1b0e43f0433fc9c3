/**
 * This device's own key material: the account identity key pair (once registered or linked), the signed prekey
 * (rotated weekly; the previous one kept a while for PreKey messages still in flight), the last-resort key and the
 * one-time prekeys, and their upload (PUT /v1/keys).
 */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import {
  deserializeIdentityKeyPair,
  IdentityKeyPair,
  SerializedIdentityKeyPair,
  serializeIdentityKeyPair,
} from '../crypto/identity';
import {
  generateLastResortKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  LastResortKeyRecord,
  MAX_KEY_ID,
  OneTimePreKeyRecord,
  SignedPreKeyRecord,
  toOneTimePreKeyWire,
  toSignedPreKeyWire,
} from '../crypto/prekeys';
import type { LocalPreKeys } from '../crypto/session';
import { toBase64 } from '../crypto/bytes';
import { ClientStateError } from './errors';
import { Transport } from './transport';

const IDENTITY_KEY = 'keys/identity';
const PREKEYS_KEY = 'keys/prekeys';
export const ONE_TIME_PREKEY_BATCH = 100;
/** The server's own threshold for `prekeys-low`. */
const PREKEYS_LOW = 10;
export const SIGNED_PREKEY_ROTATION_MS = 7 * 24 * 3600 * 1000;
/** Superseded signed prekeys stay this long: a PreKey message built on one may still be on its way. */
const OLD_SIGNED_PREKEY_GRACE_MS = 30 * 24 * 3600 * 1000;

interface PreKeyState {
  signed: SignedPreKeyRecord[];
  lastResort: LastResortKeyRecord;
  oneTime: OneTimePreKeyRecord[];
  nextOneTimeId: number;
  nextSignedId: number;
}

export class KeyManager {
  private identityPair: IdentityKeyPair | undefined;

  constructor(
    private readonly store: KeyValueStore,
    private readonly transport: Transport,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<void> {
    const json = await getJson<SerializedIdentityKeyPair>(this.store, IDENTITY_KEY);
    this.identityPair = json ? deserializeIdentityKeyPair(json) : undefined;
  }

  get hasIdentity(): boolean {
    return this.identityPair !== undefined;
  }

  identity(): IdentityKeyPair {
    if (!this.identityPair) throw new ClientStateError('this device is not linked yet: approve it from another device');
    return this.identityPair;
  }

  identityPublicKey(): string {
    return toBase64(this.identity().publicKey);
  }

  async setIdentity(pair: IdentityKeyPair): Promise<void> {
    await putJson(this.store, IDENTITY_KEY, serializeIdentityKeyPair(pair));
    this.identityPair = pair;
  }

  /** Fresh prekeys for this device, stored then uploaded (with the identity key, which the server may already have). */
  async publishInitialKeys(): Promise<void> {
    const identity = this.identity();
    const state: PreKeyState = {
      signed: [generateSignedPreKey(identity, 1, this.now())],
      lastResort: generateLastResortKey(identity, 1, this.now()),
      oneTime: generateOneTimePreKeys(1, ONE_TIME_PREKEY_BATCH),
      nextOneTimeId: 1 + ONE_TIME_PREKEY_BATCH,
      nextSignedId: 2,
    };
    await putJson(this.store, PREKEYS_KEY, state);
    await this.upload(state, state.oneTime, true);
  }

  /** After `prekeys-low`: another batch of one-time prekeys. */
  async refillOneTimePreKeys(): Promise<void> {
    const state = await this.preKeyState();
    const fresh = generateOneTimePreKeys(state.nextOneTimeId, ONE_TIME_PREKEY_BATCH);
    const next = {
      ...state,
      oneTime: [...state.oneTime, ...fresh],
      nextOneTimeId: (state.nextOneTimeId + ONE_TIME_PREKEY_BATCH) % (MAX_KEY_ID + 1),
    };
    await putJson(this.store, PREKEYS_KEY, next);
    await this.upload(next, fresh, false);
  }

  /** Offline devices miss `prekeys-low`: a catch-up checks the count on the server instead. */
  async refillIfLow(): Promise<boolean> {
    const { oneTimePreKeyCount } = await this.transport.request<{ oneTimePreKeyCount: number }>('GET', '/v1/keys');
    if (oneTimePreKeyCount >= PREKEYS_LOW) return false;
    await this.refillOneTimePreKeys();
    return true;
  }

  /** Weekly: a new signed prekey; old ones stay for a grace period. Returns whether it rotated. */
  async rotateSignedPreKeyIfDue(): Promise<boolean> {
    const state = await getJson<PreKeyState>(this.store, PREKEYS_KEY);
    if (!state || this.now() - state.signed[0].createdAt < SIGNED_PREKEY_ROTATION_MS) return false;
    const fresh = generateSignedPreKey(this.identity(), state.nextSignedId, this.now());
    const kept = state.signed.filter((key) => this.now() - key.createdAt < OLD_SIGNED_PREKEY_GRACE_MS);
    const next = { ...state, signed: [fresh, ...kept], nextSignedId: (state.nextSignedId % MAX_KEY_ID) + 1 };
    await putJson(this.store, PREKEYS_KEY, next);
    await this.upload(next, [], false);
    return true;
  }

  /** A synchronous view of the prekeys for the session core (loaded once per decryption). */
  async localPreKeys(): Promise<LocalPreKeys> {
    const state = await this.preKeyState();
    return {
      signedPreKey: (id) => state.signed.find((key) => key.keyId === id),
      lastResortKey: (id) => (state.lastResort.keyId === id ? state.lastResort : undefined),
      oneTimePreKey: (id) => state.oneTime.find((key) => key.keyId === id),
    };
  }

  /** A one-time prekey is single-use: deleted once a session was built on it. */
  async consumeOneTimePreKey(keyId: number): Promise<void> {
    const state = await this.preKeyState();
    await putJson(this.store, PREKEYS_KEY, { ...state, oneTime: state.oneTime.filter((key) => key.keyId !== keyId) });
  }

  private async preKeyState(): Promise<PreKeyState> {
    const state = await getJson<PreKeyState>(this.store, PREKEYS_KEY);
    if (!state) throw new ClientStateError('this device has no prekeys yet');
    return state;
  }

  private async upload(state: PreKeyState, oneTime: OneTimePreKeyRecord[], withIdentity: boolean): Promise<void> {
    await this.transport.request('PUT', '/v1/keys', {
      ...(withIdentity ? { identityKey: this.identityPublicKey() } : {}),
      signedPreKey: toSignedPreKeyWire(state.signed[0]),
      lastResortKey: toSignedPreKeyWire(state.lastResort),
      oneTimePreKeys: oneTime.map(toOneTimePreKeyWire),
    });
  }
}
