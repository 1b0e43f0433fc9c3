import { RedisKeys, RedisTtlSeconds } from './keys';

/**
 * How presence is stored in Redis, for the server (writes it) and the worker (reads it to decide which devices
 * get a push). Shared so both agree on one format.
 *
 * `presence:{userId}` is a hash: one field per API instance and device of the user with at least one WebSocket
 *   there, field = `<instanceId>/<deviceId>`, value = the time (epoch milliseconds) until which that instance
 *   vouches for that device. Each instance refreshes its fields on every heartbeat (every PRESENCE_HEARTBEAT_MS)
 *   to now + PRESENCE_TTL_MS and removes a field when the device's last socket there closes.
 * The key itself expires PRESENCE_TTL_MS after the last refresh, so a user whose instances all died
 * disappears; a field of a dead instance next to a live one is ignored once its time has passed
 * (Redis 7.0 has no per-field expiry, hence the explicit deadline).
 *
 * A user is online when any field's deadline is in the future; a device when one of its fields' is. A field
 * without a device (`<instanceId>`, written by instances older than devices) makes the user online but vouches
 * for no device in particular.
 */
export const PRESENCE_TTL_MS = RedisTtlSeconds.presence * 1000;
/** A third of the TTL: two heartbeats may be missed before a user counts as offline. */
export const PRESENCE_HEARTBEAT_MS = Math.floor(PRESENCE_TTL_MS / 3);

/** The few commands presence needs; node-redis clients (and multi()) satisfy it. */
export interface PresenceRedis {
  hGetAll(key: string): Promise<Record<string, string>>;
}

/** The hash field of one device's sockets on one instance. */
export const presenceField = (instanceId: string, deviceId: number): string => `${instanceId}/${deviceId}`;

/** True when the stored hash vouches for the user at `now`. */
export function isOnlineFromHash(hash: Record<string, string> | null | undefined, now = Date.now()): boolean {
  if (!hash) return false;
  return Object.values(hash).some((deadline) => Number(deadline) > now);
}

/** The devices the stored hash vouches for at `now`. */
export function onlineDevicesFromHash(hash: Record<string, string> | null | undefined, now = Date.now()): Set<number> {
  const devices = new Set<number>();
  for (const [field, deadline] of Object.entries(hash ?? {})) {
    const slash = field.lastIndexOf('/');
    const deviceId = slash < 0 ? NaN : Number(field.slice(slash + 1));
    if (Number.isInteger(deviceId) && Number(deadline) > now) devices.add(deviceId);
  }
  return devices;
}

/** Reads presence of one user. Throws when Redis is unavailable: the caller decides (the worker: assume offline → notify). */
export async function isOnline(redis: PresenceRedis, userId: string, now = Date.now()): Promise<boolean> {
  return isOnlineFromHash(await redis.hGetAll(RedisKeys.presence(userId)), now);
}

/** Which of `userIds` are online, in one round of parallel reads. */
export async function onlineUsers(redis: PresenceRedis, userIds: string[], now = Date.now()): Promise<Set<string>> {
  const hashes = await Promise.all(userIds.map((userId) => redis.hGetAll(RedisKeys.presence(userId))));
  return new Set(userIds.filter((_, index) => isOnlineFromHash(hashes[index], now)));
}

/** Per user of `userIds`, the devices with an open socket, in one round of parallel reads. */
export async function onlineDevices(
  redis: PresenceRedis,
  userIds: string[],
  now = Date.now(),
): Promise<Map<string, Set<number>>> {
  const hashes = await Promise.all(userIds.map((userId) => redis.hGetAll(RedisKeys.presence(userId))));
  return new Map(userIds.map((userId, index) => [userId, onlineDevicesFromHash(hashes[index], now)]));
}
