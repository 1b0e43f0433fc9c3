import type { PushTokenProvider } from '../../common/contracts/push-tokens';

/**
 * What a push carries: which device to wake (its provider and token) and, at most, which conversation to look
 * at. Never the sender, the message or anything from it (ciphertext included): the client fetches what is new
 * itself over its authenticated connection.
 */
export interface PushNotification {
  kind: 'wake';
  provider: PushTokenProvider;
  token: string;
  conversationId: string;
}

/**
 * `delivered`: the provider took it. `dropped`: the provider refused it for good (do not retry).
 * `token-invalid`: the provider says the device's token is dead (uninstalled app): forget the token.
 */
export type PushOutcome = 'delivered' | 'dropped' | 'token-invalid';

/** A push transport. Throws for failures worth retrying (network, timeout, 5xx, 429). */
export interface PushProvider {
  readonly name: string;
  send(notification: PushNotification): Promise<PushOutcome>;
}
