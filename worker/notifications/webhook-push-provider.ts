import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PushNotification, PushOutcome, PushProvider } from './push-provider';

export interface WebhookPushOptions {
  url: string;
  /** When set, each request carries `x-cyphr-signature: sha256=<hex HMAC of the body>`. */
  secret?: string;
  timeoutMs: number;
  /** Attempts within one call; the queue's visibility retry and DLQ take over after that. */
  attempts: number;
  /** First backoff between attempts; doubles each time, with jitter. */
  backoffMs?: number;
  fetch?: typeof fetch;
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

/**
 * Posts each notification as JSON to a configured URL (a push gateway: FCM/APNs relay, ntfy, a bridge),
 * with a timeout per attempt and bounded retries with exponential backoff.
 */
export class WebhookPushProvider implements PushProvider {
  readonly name = 'webhook';
  private readonly fetch: typeof fetch;

  constructor(private readonly options: WebhookPushOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  async send(notification: PushNotification): Promise<PushOutcome> {
    const body = JSON.stringify({ type: 'message', ...notification });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'cyphr-worker' };
    if (this.options.secret)
      headers['x-cyphr-signature'] = `sha256=${createHmac('sha256', this.options.secret).update(body).digest('hex')}`;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      if (attempt > 1) {
        const base = (this.options.backoffMs ?? 200) * 2 ** (attempt - 2);
        await sleep(base / 2 + Math.random() * base);
      }
      try {
        const response = await this.fetch(this.options.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined); // drain so the connection is reused
        if (response.ok) return 'delivered';
        if (!retryableStatus(response.status)) return 'dropped';
        lastError = new WebhookError(`webhook answered ${response.status}`, response.status);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new WebhookError(String(lastError));
  }
}
