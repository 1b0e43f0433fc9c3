/**
 * Every Redis key and pub/sub channel name, in one place for the server and the worker.
 * TTLs come from the plan's caching phase.
 */
export const RedisKeys = {
  /** The live session token id (jti) of a user; deleting it revokes the session on every instance. */
  token: (userId: string) => `token:${userId}`,
  /** Cached public profile (JSON). */
  user: (userId: string) => `user:${userId}`,
  /**
   * Cached member ids of a conversation with their membership version: a string `<version>:<id>,<id>...` written
   * only by a compare-and-set that keeps the higher version (server/conversations/member-cache.ts).
   */
  members: (conversationId: string) => `members:${conversationId}`,
  /** Presence: a user's live connection count per instance, as a hash refreshed by heartbeats with a TTL. */
  presence: (userId: string) => `presence:${userId}`,
  /** Rate-limit counters: `ratelimit:{rule}:{subject}`. */
  rateLimit: (rule: string, subject: string) => `ratelimit:${rule}:${subject}`,
} as const;

export const RedisTtlSeconds = {
  token: 3600,
  user: 300,
  members: 300,
  /** A connection that stops sending heartbeats counts as offline after this long. */
  presence: 60,
} as const;

/** Pub/sub channels. Each API instance subscribes to the user channels of its connected clients. */
export const RedisChannels = {
  /** Realtime events (RealtimeEvent JSON) for one user's connections, on whatever instance they are. */
  user: (userId: string) => `events:user:${userId}`,
  /**
   * Ended sessions (SessionRevocation JSON). One channel every API instance subscribes to: revocations are rare,
   * and an instance must hear them for users it has not subscribed to yet. In cluster mode it is one sharded
   * channel, so it lives on one shard.
   */
  sessionRevocations: 'sessions:revoked',
  /**
   * Conversations whose members are about to change (the id as the message): every API instance drops what it
   * holds in memory of their members (server/conversations/member-cache.ts). One channel, as sessionRevocations.
   */
  memberChanges: 'members:changing',
} as const;
