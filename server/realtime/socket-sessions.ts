import type { WebSocket } from 'ws';

/** setTimeout's longest delay (about 24.8 days); a longer wait is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * How long a revocation is remembered: an upgrade authenticated just before its session was revoked becomes a
 * socket only after the revocation went by (rate limiting, subscribing happen in between).
 */
export const REVOCATION_MEMORY_MS = 30_000;

interface SocketSession {
  userId: string;
  deviceId: number;
  sessionId: string;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

/**
 * Which session each socket was opened (or last re-authenticated) with, and the timer that ends it when that
 * access token expires. Indexed by session, so a revocation finds its sockets without a scan.
 */
export class SocketSessions {
  private readonly bySocket = new Map<WebSocket, SocketSession>();
  private readonly bySession = new Map<string, Set<WebSocket>>();
  /** Session id → when its revocation was heard, oldest first (a Map keeps insertion order). */
  private readonly revoked = new Map<string, number>();

  constructor(private readonly expired: (ws: WebSocket) => void) {}

  add(ws: WebSocket, userId: string, deviceId: number, sessionId: string, expiresAt: Date): void {
    const entry = {
      userId,
      deviceId,
      sessionId,
      expiresAt: expiresAt.getTime(),
      timer: this.arm(ws, expiresAt.getTime()),
    };
    this.bySocket.set(ws, entry);
    let sockets = this.bySession.get(sessionId);
    if (!sockets) this.bySession.set(sessionId, (sockets = new Set()));
    sockets.add(ws);
  }

  get(ws: WebSocket): Readonly<SocketSession> | undefined {
    return this.bySocket.get(ws);
  }

  /** A fresh token of the same session: the socket now ends at its expiry instead. */
  renew(ws: WebSocket, expiresAt: Date): void {
    const entry = this.bySocket.get(ws);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.expiresAt = expiresAt.getTime();
    entry.timer = this.arm(ws, entry.expiresAt);
  }

  remove(ws: WebSocket): void {
    const entry = this.bySocket.get(ws);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.bySocket.delete(ws);
    const sockets = this.bySession.get(entry.sessionId);
    sockets?.delete(ws);
    if (sockets?.size === 0) this.bySession.delete(entry.sessionId);
  }

  socketsOf(sessionId: string): WebSocket[] {
    return [...(this.bySession.get(sessionId) ?? [])];
  }

  /** Each session with a socket here, once. */
  sessions(): { userId: string; sessionId: string }[] {
    return [...this.bySession.values()].map((sockets) => {
      const { userId, sessionId } = this.bySocket.get(sockets.values().next().value!)!;
      return { userId, sessionId };
    });
  }

  /** Remembers revoked sessions for REVOCATION_MEMORY_MS, so a socket of one that arrives late is caught. */
  markRevoked(sessionIds: string[], now = Date.now()): void {
    for (const [sessionId, at] of this.revoked) {
      if (now - at < REVOCATION_MEMORY_MS) break;
      this.revoked.delete(sessionId);
    }
    for (const sessionId of sessionIds) {
      this.revoked.delete(sessionId);
      this.revoked.set(sessionId, now);
    }
  }

  wasRevoked(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  private arm(ws: WebSocket, expiresAt: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        const entry = this.bySocket.get(ws);
        if (!entry) return;
        if (Date.now() >= entry.expiresAt) this.expired(ws);
        else entry.timer = this.arm(ws, entry.expiresAt);
      },
      Math.min(Math.max(0, expiresAt - Date.now()), MAX_TIMER_MS),
    );
    timer.unref();
    return timer;
  }
}
