import { NotificationQueueBodyV1 } from '../../common/contracts/queue-messages';

/**
 * What a push carries: who to wake up and where to look. Never message content or anything from it
 * (ciphertext included): the client fetches the message itself over its authenticated connection.
 */
export interface PushNotification {
  kind: 'message';
  userId: string;
  conversationId: string;
  messageId: string;
  createdAt: string;
}

/** `delivered`: the provider took it. `dropped`: the provider refused it for good (unknown user...): do not retry. */
export type PushOutcome = 'delivered' | 'dropped';

/** A push transport. Throws for failures worth retrying (network, timeout, 5xx, 429). */
export interface PushProvider {
  readonly name: string;
  send(notification: PushNotification): Promise<PushOutcome>;
}

/** Builds the push from the queue body field by field, so nothing else can slip into a payload. */
export function toPushNotification(body: NotificationQueueBodyV1): PushNotification {
  return {
    kind: body.kind,
    userId: body.userId,
    conversationId: body.conversationId,
    messageId: body.messageId,
    createdAt: body.createdAt,
  };
}
