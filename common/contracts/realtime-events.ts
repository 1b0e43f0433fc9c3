/** Events pushed to WebSocket clients; published on RedisChannels.user(...) as JSON. */
export interface MessageView {
  id: string;
  seq: string;
  conversationId: string;
  senderId: string;
  /** The sender's device that encrypted and sent it. */
  senderDeviceId: number;
  clientMessageId: string;
  ciphertext: string;
  sentAt: string;
  storedAt: string;
}

export type RealtimeEvent =
  | { type: 'message'; message: MessageView }
  | { type: 'receipt'; conversationId: string; userId: string; upToMessageId: string; readAt: string }
  | { type: 'presence'; userId: string; online: boolean; at: string }
  /**
   * A user's identity key was replaced (a reinstalled device, or someone holding the account). Sent to everyone
   * who shares a conversation with the user, and to the user's own other devices: clients show a safety-number
   * change and re-verify before sending more to this user.
   */
  | { type: 'identity-changed'; userId: string; identityKey: string; changedAt: string }
  /** To the account's other devices: a login added this device. */
  | { type: 'device-added'; userId: string; deviceId: number; name: string; createdAt: string }
  /**
   * To the account's devices and everyone who shares a conversation with it: a device was added or removed. Fetch
   * the user's key bundles again, and rotate sender keys for conversations with that user.
   */
  | { type: 'devices-changed'; userId: string }
  /**
   * To the members before and after a change (a removed user hears it was removed): who is in now, who came and
   * went, who did it. Senders rotate their sender key for the conversation. membershipVersion is a bigint as text.
   */
  | {
      type: 'members-changed';
      conversationId: string;
      memberIds: string[];
      added: string[];
      removed: string[];
      by: string;
      membershipVersion: string;
    }
  /** To one device: a fetch of its bundle left it fewer than 10 one-time prekeys; upload more (PUT /v1/keys). */
  | { type: 'prekeys-low'; remaining: number }
  /** To the recipient device only: an item of its mailbox. It stays pending until the device acknowledges it. */
  | DeviceMessageEvent
  /**
   * To the sender's devices: a device of `userId` acknowledged or fetched one of the sender's conversation
   * messages. Best effort and batched; not sent for a device's own messages.
   */
  | { type: 'delivered'; conversationId: string; messageId: string; userId: string; deviceId: number };

/** A device-to-device message as pushed live and as `GET /v1/devices/messages` lists it (without `type`). */
export interface DeviceMessageEvent {
  type: 'device-message';
  id: string;
  senderId: string;
  senderDeviceId: number;
  ciphertext: string;
  sentAt: string;
}

/** Most ids one `ack` (frame or request) may carry. */
export const MAX_ACK_IDS = 1000;

/**
 * A published event meant for one device of the user rather than all of them. On the user's channel it travels as
 * `@<deviceId> <event JSON>`; the gateway holding that device's sockets strips the prefix and sends only to them.
 */
export function deviceTargeted(deviceId: number, payload: string): string {
  return `@${deviceId} ${payload}`;
}

/** The device a published payload is for (undefined: every device of the user), and the event text itself. */
export function parseDeviceTarget(published: string): { deviceId?: number; payload: string } {
  if (published.charCodeAt(0) !== 64 /* @ */) return { payload: published };
  const space = published.indexOf(' ');
  const deviceId = Number(published.slice(1, space));
  return Number.isInteger(deviceId) && space > 1 ? { deviceId, payload: published.slice(space + 1) } : { payload: '' };
}

/**
 * Close codes the server sends on /v1/ws (README, "WebSocket protocol"). 4xxx are the application's own range
 * (RFC 6455 §7.4.2); a client reconnects on 1012, and only with a new access token after 4001 or 4002.
 */
export const RealtimeCloseCodes = {
  /** The instance is shutting down: reconnect (the ALB sends you to another instance). */
  restarting: 1012,
  /** The session was revoked (logout, password change, session deleted): log in again. */
  sessionRevoked: 4001,
  /** The access token expired and no `{type:"auth"}` frame renewed it on this socket. */
  tokenExpired: 4002,
} as const;

/** Frames a client may send on the socket (JSON text). */
export type RealtimeClientFrame =
  /** Answered with `{type:"pong"}`; does not count as liveness (only WebSocket pong frames do). */
  | { type: 'ping' }
  /** A fresh access token of the same user and session: the socket now lives until that token's expiry. */
  | { type: 'auth'; token: string }
  /**
   * Mailbox items this device has (deleted from its mailbox), and conversation messages it received (their
   * senders get `delivered`). At most MAX_ACK_IDS ids; no answer unless it is refused (`error`).
   */
  | { type: 'ack'; ids: string[] };

/**
 * Published on RedisChannels.sessionRevocations when sessions end (logout, password change, session deletion);
 * every API instance closes the sockets of those sessions with RealtimeCloseCodes.sessionRevoked.
 */
export interface SessionRevocation {
  userId: string;
  sessionIds: string[];
}

/** Parses a SessionRevocation from the channel; undefined for anything else. */
export function parseSessionRevocation(text: string): SessionRevocation | undefined {
  try {
    const value = JSON.parse(text) as Partial<SessionRevocation>;
    if (typeof value.userId !== 'string' || !Array.isArray(value.sessionIds)) return undefined;
    if (!value.sessionIds.every((id) => typeof id === 'string')) return undefined;
    return { userId: value.userId, sessionIds: value.sessionIds };
  } catch {
    return undefined;
  }
}
