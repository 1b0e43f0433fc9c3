import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook requests are signed so the push gateway can tell them from anyone else's, and a captured request
 * cannot be replayed later: `x-cyphr-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 *
 * Verifying (the gateway's side, also in worker/README.md): split the header on `,` into `t` and `v1`; refuse
 * when |now - t| > the tolerance (300 s recommended); compute HMAC-SHA256 with the shared secret over the
 * exact bytes `<t>.<raw body>` and compare its hex with `v1` in constant time.
 */
export const SIGNATURE_HEADER = 'x-cyphr-signature';
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

const mac = (secret: string, timestamp: number, body: string) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

export function signWebhookBody(secret: string, body: string, now = Date.now()): string {
  const timestamp = Math.floor(now / 1000);
  return `t=${timestamp},v1=${mac(secret, timestamp, body)}`;
}

/** The recipe above as code (tests, and gateways written in TypeScript). */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | undefined,
  now = Date.now(),
  toleranceSeconds = DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  const parts = Object.fromEntries(
    (header ?? '').split(',').map((part) => {
      const index = part.indexOf('=');
      return [part.slice(0, index).trim(), part.slice(index + 1).trim()];
    }),
  );
  const timestamp = Number(parts.t);
  if (!/^\d+$/.test(parts.t ?? '') || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return false;
  if (Math.abs(Math.floor(now / 1000) - timestamp) > toleranceSeconds) return false;
  return timingSafeEqual(Buffer.from(parts.v1, 'hex'), Buffer.from(mac(secret, timestamp, body), 'hex'));
}
