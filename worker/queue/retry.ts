import { Message } from '@aws-sdk/client-sqs';
import { receiveCount } from './attributes';

/**
 * How long a failed message stays hidden before its next attempt. A failure of the message itself
 * (a constraint violation) backs off exponentially from `baseSeconds`, so a poison message reaches the
 * DLQ in seconds rather than maxReceiveCount × the visibility timeout. A failure of the infrastructure
 * (database unreachable) keeps the full visibility timeout: an outage should not burn through the
 * receive count and flush good messages into the DLQ.
 */
export function retryDelaySeconds(
  message: Message,
  permanent: boolean,
  baseSeconds: number,
  visibilityTimeoutSeconds: number,
): number {
  if (!permanent) return visibilityTimeoutSeconds;
  return Math.min(visibilityTimeoutSeconds, baseSeconds * 2 ** (receiveCount(message) - 1));
}
