/** A device of an account, as the API names it: the account's user id and the device id within it. */
import { concatBytes, lengthPrefixed, u32be } from './bytes';

export interface DeviceAddress {
  userId: string;
  deviceId: number;
}

/** Unambiguous bytes (length-prefixed id, then the device id) for associated data and signatures. */
export function encodeAddress(address: DeviceAddress): Uint8Array {
  return concatBytes(lengthPrefixed(address.userId), u32be(address.deviceId));
}

export function sameAddress(a: DeviceAddress, b: DeviceAddress): boolean {
  return a.userId === b.userId && a.deviceId === b.deviceId;
}
