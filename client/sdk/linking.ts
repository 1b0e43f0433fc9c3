/**
 * Linking a new device to an account. The new device holds no identity key: it sends a link request (its
 * provisioning public key) to the account's other devices and shows a code; one of them, once the user confirms the
 * code there, sends the identity key pair encrypted to that key. Without this step the server, which sees passwords,
 * could add a device of its own and read what is sent to it.
 */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import { DeviceAddress } from '../crypto/address';
import { toBase64 } from '../crypto/bytes';
import { openProvisioningEnvelope, sealProvisioningEnvelope } from '../crypto/envelope';
import { deserializeIdentityKeyPair } from '../crypto/identity';
import { createProvisioningRequest, ProvisioningPayload, ProvisioningRequest } from '../crypto/provisioning';
import { encodeLinkRequest } from './device-payloads';
import { ClientStateError } from './errors';
import { KeyManager } from './key-manager';
import { Transport } from './transport';

const REQUEST_KEY = 'link/request';
const pendingKey = (deviceId: number) => `link/pending/${deviceId}`;

export class Linking {
  constructor(
    private readonly store: KeyValueStore,
    private readonly transport: Transport,
    private readonly keys: KeyManager,
    private readonly self: () => DeviceAddress,
  ) {}

  /** New device: the request goes to every other device of the account; answers the code to show. */
  async requestLink(): Promise<string> {
    const { request, publicKey, code } = createProvisioningRequest();
    await putJson(this.store, REQUEST_KEY, request);
    const devices = await this.transport.request<Array<{ id: number; current: boolean }>>('GET', '/v1/devices');
    const others = devices.filter((device) => !device.current);
    if (others.length === 0) throw new ClientStateError('no other device of this account to approve the link');
    const ciphertext = encodeLinkRequest(publicKey);
    await this.transport.request('POST', '/v1/devices/messages', {
      messages: others.map((device) => ({ userId: this.self().userId, deviceId: device.id, ciphertext })),
    });
    return code;
  }

  /** Existing device: a link request arrived from a device of our account. */
  async noteRequest(from: DeviceAddress, publicKey: string): Promise<void> {
    if (from.userId !== this.self().userId) return;
    await putJson(this.store, pendingKey(from.deviceId), publicKey);
  }

  async hasRequest(deviceId: number): Promise<boolean> {
    return (await this.store.get(pendingKey(deviceId))) !== undefined;
  }

  /** Existing device: the user confirmed `code`; refuses (InvalidSignature) when it is not the request's code. */
  async approve(deviceId: number, code: string, trustedIdentities: Record<string, string>): Promise<void> {
    const publicKey = await getJson<string>(this.store, pendingKey(deviceId));
    if (publicKey === undefined) throw new ClientStateError(`no link request from device ${deviceId}`);
    const identity = this.keys.identity();
    const payload: ProvisioningPayload = {
      userId: this.self().userId,
      identity: { publicKey: toBase64(identity.publicKey), privateKey: toBase64(identity.privateKey) },
      trustedIdentities,
    };
    const envelope = sealProvisioningEnvelope({
      sender: this.self(),
      recipient: { userId: this.self().userId, deviceId },
      newDevicePublicKey: publicKey,
      enteredCode: code,
      payload,
    });
    await this.transport.request('POST', '/v1/devices/messages', {
      messages: [{ userId: this.self().userId, deviceId, ciphertext: toBase64(envelope) }],
    });
    await this.store.delete(pendingKey(deviceId));
  }

  /** New device: the approval arrived. Stores the identity key; the caller publishes prekeys. */
  async complete(envelope: Uint8Array): Promise<ProvisioningPayload> {
    const request = await getJson<ProvisioningRequest>(this.store, REQUEST_KEY);
    if (!request) throw new ClientStateError('no link request pending on this device');
    const { payload } = openProvisioningEnvelope({ envelope, self: this.self(), request });
    await this.keys.setIdentity(deserializeIdentityKeyPair(payload.identity));
    await this.store.delete(REQUEST_KEY);
    return payload;
  }
}
