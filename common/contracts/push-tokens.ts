/**
 * Push registrations of devices, as the API accepts them (PUT /v1/devices/{deviceId}/push) and the worker reads
 * them back (devices.push_provider/push_token). One definition so both sides agree on what a token may be.
 */
export const PUSH_TOKEN_PROVIDERS = ['apns', 'fcm', 'webhook'] as const;
export type PushTokenProvider = (typeof PUSH_TOKEN_PROVIDERS)[number];

export const isPushTokenProvider = (value: unknown): value is PushTokenProvider =>
  (PUSH_TOKEN_PROVIDERS as readonly unknown[]).includes(value);

/** The longest token any provider issues, with room to spare (FCM registration tokens are ~160 characters). */
export const MAX_PUSH_TOKEN_LENGTH = 4096;
export const MIN_PUSH_TOKEN_LENGTH = 16;

/**
 * What each provider's tokens look like. APNs device tokens are hex (32 bytes today; Apple reserves the right to
 * make them longer); FCM registration tokens are URL-safe base64 with a `:` separator; a webhook gateway's tokens
 * are opaque but printable and unspaced, so they travel in a JSON body and a log line unchanged.
 */
const TOKEN_SHAPES: Record<PushTokenProvider, { pattern: RegExp; min: number; describe: string }> = {
  apns: { pattern: /^[0-9a-fA-F]+$/, min: 64, describe: 'at least 64 hexadecimal characters' },
  fcm: { pattern: /^[A-Za-z0-9_:.-]+$/, min: 32, describe: 'at least 32 letters, digits, "_", ":", "." or "-"' },
  webhook: {
    pattern: /^[A-Za-z0-9._~:+/=-]+$/,
    min: MIN_PUSH_TOKEN_LENGTH,
    describe: 'at least 16 letters, digits or ._~:+/=-',
  },
};

/** undefined when the token fits its provider, else what is wrong (a 400's message). */
export function pushTokenProblem(provider: PushTokenProvider, token: string): string | undefined {
  if (token.length > MAX_PUSH_TOKEN_LENGTH) return `token must be at most ${MAX_PUSH_TOKEN_LENGTH} characters`;
  const shape = TOKEN_SHAPES[provider];
  if (token.length < shape.min || !shape.pattern.test(token))
    return `token is not a valid ${provider} token: expected ${shape.describe}`;
  return undefined;
}
