/**
 * Who must get our sender key before we send, and whether to start a new one. Pure, so it is unit-tested alone.
 *
 * A sender key is safe to keep while every device that holds it should still read the conversation. When one that
 * holds it should no longer (its member was removed, or the device was), we rotate: a new key goes to the current
 * devices only. A device that should read but does not hold the key gets the current one, from its current
 * iteration: it reads from when it was added, not before.
 */
import { DeviceAddress } from '../crypto/address';

export const holderKey = (a: DeviceAddress) => `${a.userId}.${a.deviceId}`;

export interface DistributionPlan {
  rotate: boolean;
  sendTo: DeviceAddress[];
}

export function planDistribution(holders: string[] | undefined, targets: DeviceAddress[]): DistributionPlan {
  const wanted = new Set(targets.map(holderKey));
  if (holders === undefined || holders.some((holder) => !wanted.has(holder))) {
    return { rotate: true, sendTo: targets };
  }
  const have = new Set(holders);
  return { rotate: false, sendTo: targets.filter((t) => !have.has(holderKey(t))) };
}
