import { BadRequestException } from '@nestjs/common';

/**
 * Where a device's last sync left off: every message with seq ≤ `messages` and every membership change with
 * seq ≤ `changes` was visible to it, so only what is above is new. Opaque to clients: base64url of a small JSON.
 */
export interface SyncCursor {
  messages: string;
  changes: string;
}

/** Without `since`: everything the caller can see. */
export const FROM_SCRATCH: SyncCursor = { messages: '0', changes: '0' };

const VERSION = 1;
const MAX_LENGTH = 200;
const MAX_BIGINT = 2n ** 63n - 1n;
const SEQ = /^(0|[1-9][0-9]{0,18})$/;

export function encodeSyncCursor(cursor: SyncCursor): string {
  return Buffer.from(JSON.stringify({ v: VERSION, m: cursor.messages, c: cursor.changes })).toString('base64url');
}

const isSeq = (value: unknown): value is string =>
  typeof value === 'string' && SEQ.test(value) && BigInt(value) <= MAX_BIGINT;

/** The cursor `since` names; 400 with the reason when it is not one this API wrote. */
export function decodeSyncCursor(since: string): SyncCursor {
  const refuse = (reason: string) => new BadRequestException(`since is not a sync cursor: ${reason}`);
  if (since.length > MAX_LENGTH) throw refuse('too long');
  if (!/^[A-Za-z0-9_-]+$/.test(since)) throw refuse('not base64url');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(since, 'base64url').toString('utf8'));
  } catch {
    throw refuse('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse('not an object');
  const { v, m, c } = value as Record<string, unknown>;
  if (v !== VERSION) throw refuse('unknown version');
  if (!isSeq(m) || !isSeq(c)) throw refuse('positions must be decimal bigints');
  return { messages: m, changes: c };
}

/** The highest of the previous position and the settled candidates: a position never goes back. */
export function advance(previous: string, candidates: Array<string | null | undefined>): string {
  return candidates.reduce<string>(
    (highest, candidate) => (candidate != null && BigInt(candidate) > BigInt(highest) ? candidate : highest),
    previous,
  );
}
