// Timeouts that two sides must agree on: the stack configures one side, the processes the other.
// Both import these, and synth-time policy rules check the relation.

/**
 * The ALB closes a connection idle this long. A target must keep idle keep-alive connections open longer
 * than the ALB does, or the ALB reuses a connection the target just closed and answers 502.
 */
export const ALB_IDLE_TIMEOUT_SECONDS = 60;

/** The API's HTTP keep-alive timeout: longer than the ALB's idle timeout (see above). */
export const API_KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** How long systemd lets the migration take at boot (TimeoutStartSec of cyphr-migrate.service). */
export const MIGRATION_START_BUDGET_SECONDS = 300;

/**
 * How long a received message stays hidden: the messages queue's default visibility timeout and the worker's
 * (set on every receive, renewed by its heartbeat). The stack writes it into the worker's env file.
 */
export const WORKER_VISIBILITY_TIMEOUT_SECONDS = 60;
