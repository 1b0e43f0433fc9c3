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
  | { type: 'presence'; userId: string; online: boolean; at: string };
