/**
 * Pairwise sessions with other devices (ours and other accounts'), the identity keys we trust, and which devices each
 * user has. Bundles (GET /v1/users/{id}/keys) each consume a one-time prekey and are rate limited, so a user's devices
 * are fetched only when we know none, or after `devices-changed` marked them dirty; a device that writes to us first
 * is learnt from its PreKey message.
 */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import { DeviceAddress } from '../crypto/address';
import { decodeEnvelope, openPairwise, sealPairwise } from '../crypto/envelope';
import { CryptoError, InvalidEnvelope, UntrustedIdentity } from '../crypto/errors';
import { hasSession, initiateSession, SessionRecord } from '../crypto/session';
import { HttpError } from './errors';
import { KeyManager } from './key-manager';
import { Transport } from './transport';

interface KnownDevices {
  deviceIds: number[];
  /** Fetch the bundles again before the next send (a device was added or removed). */
  dirty: boolean;
  /**
   * Devices the account no longer has. Device ids are never reused, so a late message from one of them (sent before
   * its removal, read after) must not make it a recipient again: it would keep our sender key alive for it.
   */
  removed?: number[];
}

interface IdentityRecord {
  /** The identity key we encrypt to (base64): first seen, or accepted with trustIdentity. */
  trusted: string;
  /** A different key the server now presents; nothing is sent to this user until the app trusts it. */
  pending?: string;
}

interface KeyBundles {
  userId: string;
  identityKey: string;
  devices: Array<{
    deviceId: number;
    signedPreKey: { keyId: number; publicKey: string; signature: string };
    preKey: { keyId: number; publicKey: string; lastResort: boolean; signature?: string } | null;
  }>;
}

export const addressKey = (a: DeviceAddress) => `${a.userId}.${a.deviceId}`;

export class SessionStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly transport: Transport,
    private readonly keys: KeyManager,
    private readonly self: () => DeviceAddress,
    /** Told when a contact's identity key changed (the app should show it and ask before trusting). */
    private readonly onIdentityChanged: (userId: string) => void,
    /** Told about a bundle that could not be used (bad signature): that device is skipped. */
    private readonly onError: (error: Error) => void,
  ) {}

  async identityOf(userId: string): Promise<IdentityRecord | undefined> {
    return getJson<IdentityRecord>(this.store, `identity/${userId}`);
  }

  /** Records a key the server announced or presented; unknown users are trusted on first use. */
  async noteIdentity(userId: string, identityKey: string): Promise<void> {
    if (userId === this.self().userId) return;
    const known = await this.identityOf(userId);
    if (!known) return putJson(this.store, `identity/${userId}`, { trusted: identityKey });
    if (known.trusted === identityKey) {
      if (known.pending) await putJson(this.store, `identity/${userId}`, { trusted: known.trusted });
      return;
    }
    if (known.pending === identityKey) return;
    await putJson(this.store, `identity/${userId}`, { ...known, pending: identityKey });
    this.onIdentityChanged(userId);
  }

  /** The app accepted the user's new identity key: old sessions go, bundles are fetched again. */
  async trust(userId: string): Promise<void> {
    const known = await this.identityOf(userId);
    if (known?.pending) await putJson(this.store, `identity/${userId}`, { trusted: known.pending });
    for (const key of await this.store.list(`session/${userId}/`)) await this.store.delete(key);
    await this.markDirty(userId);
  }

  async markDirty(userId: string): Promise<void> {
    const known = await getJson<KnownDevices>(this.store, `devices/${userId}`);
    if (known) await putJson(this.store, `devices/${userId}`, { ...known, dirty: true });
  }

  /** The user's devices we can encrypt to (without this device), fetching bundles when needed. */
  async devicesOf(userId: string): Promise<DeviceAddress[]> {
    const identity = await this.identityOf(userId);
    if (identity?.pending) throw new UntrustedIdentity(userId, identity.trusted, identity.pending);
    let known = await getJson<KnownDevices>(this.store, `devices/${userId}`);
    if (!known || known.dirty) known = await this.fetchDevices(userId);
    const self = this.self();
    return known.deviceIds
      .map((deviceId) => ({ userId, deviceId }))
      .filter((a) => !(a.userId === self.userId && a.deviceId === self.deviceId));
  }

  private async fetchDevices(userId: string): Promise<KnownDevices> {
    let bundles: KeyBundles;
    try {
      bundles = await this.transport.request<KeyBundles>('GET', `/v1/users/${encodeURIComponent(userId)}/keys`);
    } catch (e) {
      // A user none of whose devices has published keys yet has no device we can reach.
      if (e instanceof HttpError && e.status === 404) return this.saveDevices(userId, []);
      throw e;
    }
    await this.checkIdentity(userId, bundles.identityKey);
    const self = this.self();
    const reachable: number[] = [];
    for (const bundle of bundles.devices) {
      const address = { userId, deviceId: bundle.deviceId };
      if (userId === self.userId && bundle.deviceId === self.deviceId) continue;
      const record = await this.record(address);
      if (hasSession(record) && record!.current!.theirIdentityKey === bundles.identityKey) {
        reachable.push(bundle.deviceId);
        continue;
      }
      try {
        const next = initiateSession({
          identity: this.keys.identity(),
          ourAddress: self,
          theirAddress: address,
          bundle: { identityKey: bundles.identityKey, signedPreKey: bundle.signedPreKey, preKey: bundle.preKey },
          record,
          knownIdentityKey: bundles.identityKey,
        });
        await this.saveRecord(address, next);
        reachable.push(bundle.deviceId);
      } catch (e) {
        if (!(e instanceof CryptoError)) throw e;
        this.onError(e);
      }
    }
    for (const key of await this.store.list(`session/${userId}/`)) {
      const deviceId = Number(key.split('/')[2]);
      if (!bundles.devices.some((b) => b.deviceId === deviceId)) await this.store.delete(key);
    }
    const before = await getJson<KnownDevices>(this.store, `devices/${userId}`);
    const gone = (before?.deviceIds ?? []).filter((id) => !bundles.devices.some((b) => b.deviceId === id));
    return this.saveDevices(userId, reachable, { removed: [...(before?.removed ?? []), ...gone] });
  }

  private async checkIdentity(userId: string, presented: string): Promise<void> {
    if (userId === this.self().userId) {
      const ours = this.keys.identityPublicKey();
      if (presented !== ours) throw new UntrustedIdentity(userId, ours, presented);
      return;
    }
    await this.noteIdentity(userId, presented);
    const known = (await this.identityOf(userId))!;
    if (known.pending) throw new UntrustedIdentity(userId, known.trusted, known.pending);
  }

  private async saveDevices(
    userId: string,
    deviceIds: number[],
    options: { dirty?: boolean; removed?: number[] } = {},
  ): Promise<KnownDevices> {
    const removed = [...new Set(options.removed ?? [])].sort((a, b) => a - b);
    const known: KnownDevices = {
      deviceIds: [...new Set(deviceIds)].filter((id) => !removed.includes(id)).sort((a, b) => a - b),
      dirty: options.dirty ?? false,
      ...(removed.length > 0 ? { removed } : {}),
    };
    await putJson(this.store, `devices/${userId}`, known);
    return known;
  }

  /**
   * A device that wrote to us: encrypt to it from now on too, unless the account removed it (its message was sent
   * before). A pending re-fetch (dirty) stays pending.
   */
  private async learnDevice(address: DeviceAddress): Promise<void> {
    const known = await getJson<KnownDevices>(this.store, `devices/${address.userId}`);
    if (!known) return; // Fetched in full when we first send to this user.
    if (known.deviceIds.includes(address.deviceId) || known.removed?.includes(address.deviceId)) return;
    await this.saveDevices(address.userId, [...known.deviceIds, address.deviceId], {
      dirty: known.dirty,
      removed: known.removed,
    });
  }

  async forgetDevice(address: DeviceAddress): Promise<void> {
    await this.store.delete(`session/${address.userId}/${address.deviceId}`);
    const known = await getJson<KnownDevices>(this.store, `devices/${address.userId}`);
    await this.saveDevices(address.userId, known?.deviceIds ?? [], {
      dirty: known?.dirty ?? true,
      removed: [...(known?.removed ?? []), address.deviceId],
    });
  }

  /** Every device we hold a session with (ours and other accounts'). */
  async sessionPeers(): Promise<DeviceAddress[]> {
    return (await this.store.list('session/')).map((key) => {
      const [, userId, deviceId] = key.split('/');
      return { userId, deviceId: Number(deviceId) };
    });
  }

  /** Encrypts to one device over its session (devicesOf has made one). Returns the envelope. */
  async encrypt(address: DeviceAddress, plaintext: Uint8Array): Promise<Uint8Array> {
    const out = sealPairwise((await this.record(address)) ?? { current: null, previous: [] }, plaintext);
    await this.saveRecord(address, out.record);
    return out.envelope;
  }

  /** Opens a pairwise or PreKey envelope addressed to this device; the server's sender fields must match it. */
  async decrypt(
    envelope: Uint8Array,
    claimed: DeviceAddress,
  ): Promise<{ plaintext: Uint8Array; sender: DeviceAddress }> {
    const sender = decodeEnvelope(envelope).sender;
    if (sender.userId !== claimed.userId || sender.deviceId !== claimed.deviceId) {
      throw new InvalidEnvelope('envelope sender differs from the server-reported sender');
    }
    const identity = sender.userId === this.self().userId ? undefined : await this.identityOf(sender.userId);
    const out = openPairwise({
      envelope,
      self: this.self(),
      identity: this.keys.identity(),
      record: await this.record(sender),
      preKeys: await this.keys.localPreKeys(),
      knownIdentityKey: sender.userId === this.self().userId ? this.keys.identityPublicKey() : identity?.trusted,
    });
    await this.saveRecord(sender, out.record);
    if (out.usedOneTimePreKeyId !== undefined) await this.keys.consumeOneTimePreKey(out.usedOneTimePreKeyId);
    if (!identity && sender.userId !== this.self().userId) {
      await this.noteIdentity(sender.userId, out.record.current!.theirIdentityKey);
    }
    await this.learnDevice(sender);
    return { plaintext: out.plaintext, sender };
  }

  private record(address: DeviceAddress): Promise<SessionRecord | undefined> {
    return getJson<SessionRecord>(this.store, `session/${address.userId}/${address.deviceId}`);
  }

  private saveRecord(address: DeviceAddress, record: SessionRecord): Promise<void> {
    return putJson(this.store, `session/${address.userId}/${address.deviceId}`, record);
  }
}
