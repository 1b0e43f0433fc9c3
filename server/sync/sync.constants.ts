import { DATABASE_STATEMENT_TIMEOUT_MS } from '../../common/config/database-options';

/**
 * How far behind the replica's replay point a seq must have been stored before a sync cursor moves past it.
 * A message's seq is taken during its insert and stored_at is its transaction's start; transactions can commit out
 * of seq order. If every transaction commits within T of its start (T = the statement timeout: the worker stores a
 * batch in one statement), a stored message V with stored_at < replay point - 2T has every lower seq committed and
 * replayed: a lower seq was taken before V's (so after its own transaction started, before V's started + T), and
 * that transaction committed within T more. So the cursor never skips a message; what is newer is reported again.
 */
export const SETTLE_SECONDS = (2 * DATABASE_STATEMENT_TIMEOUT_MS) / 1000;

/** newMessages is counted up to this many per conversation (a client pages anyway), bounding the index scans. */
export const NEW_MESSAGES_CAP = 1000;

/** Membership changes per answer (`hasMore` says when there are more). */
export const MEMBERSHIP_CHANGES_PAGE = 500;
