/** Fixtures shared by the specs: an account with one device and its prekeys, as the SDK would hold them. */
import { DeviceAddress } from '../address';
import { generateIdentityKeyPair, IdentityKeyPair } from '../identity';
import {
  generateLastResortKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  LastResortKeyRecord,
  OneTimePreKeyRecord,
  SignedPreKeyRecord,
} from '../prekeys';
import { toBase64 } from '../bytes';
import { LocalPreKeys } from '../session';
import { PreKeyBundle } from '../x3dh';

export interface TestDevice {
  address: DeviceAddress;
  identity: IdentityKeyPair;
  signedPreKey: SignedPreKeyRecord;
  lastResortKey: LastResortKeyRecord;
  oneTimePreKeys: OneTimePreKeyRecord[];
  preKeys: LocalPreKeys;
}

export function makeDevice(userId: string, deviceId = 1, identity = generateIdentityKeyPair()): TestDevice {
  const signedPreKey = generateSignedPreKey(identity, 1);
  const lastResortKey = generateLastResortKey(identity, 2);
  const oneTimePreKeys = generateOneTimePreKeys(100, 3);
  return {
    address: { userId, deviceId },
    identity,
    signedPreKey,
    lastResortKey,
    oneTimePreKeys,
    preKeys: {
      signedPreKey: (id) => (id === signedPreKey.keyId ? signedPreKey : undefined),
      lastResortKey: (id) => (id === lastResortKey.keyId ? lastResortKey : undefined),
      oneTimePreKey: (id) => oneTimePreKeys.find((k) => k.keyId === id),
    },
  };
}

export type BundleKind = 'one-time' | 'last-resort' | 'none';

/** What GET /v1/users/{id}/keys would answer for this device. */
export function bundleOf(device: TestDevice, kind: BundleKind = 'one-time'): PreKeyBundle {
  const { keyId, publicKey, signature } = device.signedPreKey;
  const preKey =
    kind === 'one-time'
      ? { keyId: device.oneTimePreKeys[0].keyId, publicKey: device.oneTimePreKeys[0].publicKey, lastResort: false }
      : kind === 'last-resort'
        ? {
            keyId: device.lastResortKey.keyId,
            publicKey: device.lastResortKey.publicKey,
            lastResort: true,
            signature: device.lastResortKey.signature,
          }
        : null;
  return { identityKey: toBase64(device.identity.publicKey), signedPreKey: { keyId, publicKey, signature }, preKey };
}
