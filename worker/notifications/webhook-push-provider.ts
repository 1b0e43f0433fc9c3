import { setTimeout as sleep } from 'node:timers/promises';
import { PushNotification, PushOutcome, PushProvider } from './push-provider';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature';
import { WebhookTransport } from './webhook-transport';

export interface WebhookPushOptions {
  /** https, or http to a loopback address (a local gateway); anything else is refused here and by the settings. */
  url: string;
  /** HMAC-SHA256 key: each request carries a timestamped signature (./webhook-signature.ts). */
  secret: string;
  timeoutMs: number;
  /** Attempts within one call; the queue's visibility retry and DLQ take over after that. */
  attempts: number;
  /** First backoff between attempts; doubles each time, with jitter. */
  backoffMs?: number;
}

export class WebhookError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

/** 408 and 429 are worth another try; other 4xx mean the request itself is wrong. */
const retryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;
/** The gateway's way of saying APNs/FCM no longer know the token (the app is gone from the device). */
const TOKEN_GONE = 410;
/** What fetch calls a redirect status (it refused these under `redirect: 'error'`); other 3xx are plain refusals. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** undefined when the URL may receive pushes: https anywhere, plain http only on this machine. */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return undefined;
  return 'must be https (plain http only to a loopback address)';
}

/**
 * Posts each push as JSON `{type: "wake", provider, token, conversationId}` to a push gateway that relays to
 * APNs/FCM, signed and timestamped, with a timeout per attempt and bounded retries with exponential backoff.
 * Redirects are never followed (a 3xx fails the push): a signed request must reach only the configured host.
 */
export class WebhookPushProvider implements PushProvider {
  readonly name = 'webhook';
  private readonly transport: WebhookTransport;

  constructor(private readonly options: WebhookPushOptions) {
    const problem = webhookUrlProblem(options.url);
    if (problem) throw new Error(`webhook URL ${problem}`);
    if (!options.secret) throw new Error('webhook pushes need a signing secret');
    this.transport = new WebhookTransport(options.url);
  }

  async send(notification: PushNotification): Promise<PushOutcome> {
    const { provider, token, conversationId } = notification;
    const body = JSON.stringify({ type: 'wake', provider, token, conversationId });
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      if (attempt > 1) {
        const base = (this.options.backoffMs ?? 200) * 2 ** (attempt - 2);
        await sleep(base / 2 + Math.random() * base);
      }
      let status: number;
      try {
        // Signed per attempt: a retry late in the backoff still falls inside the gateway's tolerance.
        status = await this.transport.post(
          body,
          {
            'content-type': 'application/json',
            'user-agent': 'cyphr-worker',
            [SIGNATURE_HEADER]: signWebhookBody(this.options.secret, body),
          },
          this.options.timeoutMs,
        );
      } catch (error) {
        lastError = error;
        continue;
      }
      if (status >= 200 && status < 300) return 'delivered';
      if (REDIRECTS.has(status)) throw new WebhookError('webhook answered a redirect; redirects are refused');
      if (status === TOKEN_GONE) return 'token-invalid';
      if (!retryableStatus(status)) return 'dropped';
      lastError = new WebhookError(`webhook answered ${status}`, status);
    }
    throw lastError instanceof Error ? lastError : new WebhookError(String(lastError));
  }
}
