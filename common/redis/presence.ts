import { RedisKeys, RedisTtlSeconds } from './keys';

/**
 * How presence is stored in Redis, for the server (writes it) and the worker (reads it to decide who gets
 * a notification). Shared so both agree on one format; the worker only needs `isOnline` / `onlineUsers`.
 *
 * `presence:{userId}` is a hash: one field per API instance that holds at least one WebSocket of that user,
 *   field = instance id, value = the time (epoch milliseconds) until which that instance vouches for the
 *   user. Each instance refreshes its fields on every heartbeat (every PRESENCE_HEARTBEAT_MS) to
 *   now + PRESENCE_TTL_MS and removes its field when the user's last socket there closes.
 * The key itself expires PRESENCE_TTL_MS after the last refresh, so a user whose instances all died
 * disappears; a field of a dead instance next to a live one is ignored once its time has passed
 * (Redis 7.0 has no per-field expiry, hence the explicit deadline).
 *
 * A user is online when any field's deadline is in the future.
 */
export const PRESENCE_TTL_MS = RedisTtlSeconds.presence * 1000;
/** A third of the TTL: two heartbeats may be missed before a user counts as offline. */
export const PRESENCE_HEARTBEAT_MS = Math.floor(PRESENCE_TTL_MS / 3);

/** The few commands presence needs; node-redis clients (and multi()) satisfy it. */
export interface PresenceRedis {
  hGetAll(key: string): Promise<Record<string, string>>;
}

/** True when the stored hash vouches for the user at `now`. */
export function isOnlineFromHash(hash: Record<string, string> | null | undefined, now = Date.now()): boolean {
  if (!hash) return false;
  return Object.values(hash).some((deadline) => Number(deadline) > now);
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
