/** Events pushed to WebSocket clients; published on RedisChannels.user(...) as JSON. */
export interface MessageView {
  id: string;
  seq: string;
  conversationId: string;
  senderId: string;
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
  | { type: 'identity-changed'; userId: string; identityKey: string; changedAt: string };
