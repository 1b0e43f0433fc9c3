import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { IncomingMessage, Server, STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { RedisChannels, RedisKeys } from '../../common/redis/keys';
import { isOnlineFromHash, PRESENCE_HEARTBEAT_MS, PRESENCE_TTL_MS } from '../../common/redis/presence';
import { bearerToken } from '../auth/auth.guard';
import { AuthService } from '../auth/auth.service';
import { ServerConfig } from '../config/server-config';
import { DatabaseService } from '../infrastructure/database.service';
import { RedisService } from '../infrastructure/redis.service';
import { MetricsService } from '../metrics/metrics.service';
import { RealtimePublisher } from './realtime-publisher.service';

export const WEBSOCKET_PATH = '/v1/ws';
/** Close code sent on shutdown: 1012 "service restart", i.e. reconnect (to another instance) after a short delay. */
export const CLOSE_RESTARTING = 1012;
/** Browsers cannot set headers: `Sec-WebSocket-Protocol: cyphr, bearer.<token>` carries the token instead. */
const PROTOCOL = 'cyphr';
const PROTOCOL_TOKEN_PREFIX = 'bearer.';

function protocolToken(header: string | undefined): string | undefined {
  return header
    ?.split(',')
    .map((part) => part.trim())
    .find((part) => part.startsWith(PROTOCOL_TOKEN_PREFIX))
    ?.slice(PROTOCOL_TOKEN_PREFIX.length);
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * WebSocket endpoint at /v1/ws on the HTTP server. Each user with at least one socket on this instance has
 * this instance's Redis subscriber on `events:user:{id}`; whatever any instance or the worker publishes
 * there is pushed to that user's sockets here. Heartbeats: a ping frame every PRESENCE_HEARTBEAT_MS, a
 * socket that missed the previous pong is dropped, and the same tick refreshes presence (common/redis/presence.ts).
 */
@Injectable()
export class RealtimeGateway implements OnApplicationShutdown {
  private readonly logger = new Logger(RealtimeGateway.name);
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4 * 1024,
    handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
  });
  private readonly sockets = new Map<string, Set<WebSocket>>();
  /** Per user: the subscription being made or made; sockets wait on it before saying "ready". */
  private readonly subscriptions = new Map<string, Promise<boolean>>();
  private readonly alive = new WeakSet<WebSocket>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly auth: AuthService,
    private readonly redis: RedisService,
    private readonly db: DatabaseService,
    private readonly publisher: RealtimePublisher,
    private readonly metrics: MetricsService,
  ) {}

  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head).catch((error: Error) => {
        this.logger.warn(`websocket upgrade failed: ${error.message}`);
        socket.destroy();
      });
    });
    this.heartbeat = setInterval(() => void this.beat(), PRESENCE_HEARTBEAT_MS);
    this.heartbeat.unref();
    // Subscriptions that failed while Redis was down are made again when it is back.
    this.redis.subscriber.onReady(() => void this.resubscribeMissing());
  }

  /** Number of open sockets on this instance. */
  get connectionCount(): number {
    return this.wss.clients.size;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== WEBSOCKET_PATH) return refuse(socket, 404, 'Not Found');
    if (this.closing) return refuse(socket, 503, 'server is shutting down; reconnect');
    const token =
      bearerToken(request.headers.authorization) ??
      url.searchParams.get('token') ??
      protocolToken(request.headers['sec-websocket-protocol']);
    let userId: string;
    try {
      userId = (await this.auth.authenticate(token ?? undefined)).id;
    } catch (error) {
      return refuse(socket, 401, (error as Error).message);
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => void this.connected(ws, userId));
  }

  private async connected(ws: WebSocket, userId: string): Promise<void> {
    this.metrics.websocketConnections.inc();
    this.alive.add(ws);
    let userSockets = this.sockets.get(userId);
    const first = !userSockets;
    if (!userSockets) this.sockets.set(userId, (userSockets = new Set()));
    userSockets.add(ws);

    ws.on('pong', () => this.alive.add(ws));
    ws.on('message', (data) => this.received(ws, data.toString()));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => void this.disconnected(ws, userId));

    if (first) this.subscriptions.set(userId, this.subscribe(userId));
    const subscribed = await this.subscriptions.get(userId);
    if (first) await this.announce(userId);
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(
        JSON.stringify({
          type: 'ready',
          userId,
          instanceId: this.config.instanceId,
          heartbeatMs: PRESENCE_HEARTBEAT_MS,
          realtime: subscribed ? 'live' : 'degraded',
        }),
      );
    }
  }

  /** Clients may send `{"type":"ping"}` (answered with a pong) for their own liveness checks; nothing else. */
  private received(ws: WebSocket, text: string): void {
    this.alive.add(ws);
    let type: unknown;
    try {
      type = (JSON.parse(text) as { type?: unknown }).type;
    } catch {
      type = undefined;
    }
    if (type === 'ping') ws.send(JSON.stringify({ type: 'pong', at: new Date().toISOString() }));
    else ws.send(JSON.stringify({ type: 'error', message: 'only {"type":"ping"} is accepted' }));
  }

  private async disconnected(ws: WebSocket, userId: string): Promise<void> {
    this.metrics.websocketConnections.dec();
    const userSockets = this.sockets.get(userId);
    if (!userSockets?.delete(ws) || userSockets.size > 0) return;
    this.sockets.delete(userId);
    this.subscriptions.delete(userId);
    if (this.closing) return;
    await this.redis.attempt('unsubscribe', (_) => this.redis.subscriber.unsubscribe(RedisChannels.user(userId)));
    // The user may have reconnected here while we were unsubscribing.
    if (this.sockets.has(userId)) return void this.subscriptions.set(userId, this.subscribe(userId));
    const key = RedisKeys.presence(userId);
    const result = await this.redis.attempt('presence leave', (redis) =>
      redis.transaction(key).hDel(this.config.instanceId).hGetAll().exec(),
    );
    if (result && !isOnlineFromHash(result[1] as unknown as Record<string, string>))
      await this.publishPresence(userId, false);
  }

  private async subscribe(userId: string): Promise<boolean> {
    const done = await this.redis.attempt('subscribe', () =>
      this.redis.subscriber.subscribe(RedisChannels.user(userId), (message) => this.deliver(userId, message)),
    );
    return done !== undefined || this.redis.subscriber.isReady;
  }

  private deliver(userId: string, message: string): void {
    const userSockets = this.sockets.get(userId);
    if (!userSockets) return;
    const type = /"type":"(\w+)"/.exec(message)?.[1] ?? 'unknown';
    for (const ws of userSockets) {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(message);
        this.metrics.realtimeEvents.inc({ type });
      }
    }
  }

  /** Marks this instance as holding the user; tells their contacts when they were offline until now. */
  private async announce(userId: string): Promise<void> {
    const key = RedisKeys.presence(userId);
    const result = await this.redis.attempt('presence join', (redis) =>
      redis
        .transaction(key)
        .hGetAll()
        .hSet(this.config.instanceId, String(Date.now() + PRESENCE_TTL_MS))
        .pExpire(PRESENCE_TTL_MS)
        .exec(),
    );
    if (!result) return;
    const before = { ...(result[0] as unknown as Record<string, string>) };
    delete before[this.config.instanceId];
    if (!isOnlineFromHash(before)) await this.publishPresence(userId, true);
  }

  private async publishPresence(userId: string, online: boolean): Promise<void> {
    try {
      const { rows } = await this.db.replica<{ user_id: string }>(
        `SELECT DISTINCT other.user_id FROM conversation_members mine
         JOIN conversation_members other ON other.conversation_id = mine.conversation_id
         WHERE mine.user_id = $1 AND other.user_id <> $1`,
        [userId],
      );
      await this.publisher.publish(
        rows.map((row) => row.user_id),
        { type: 'presence', userId, online, at: new Date().toISOString() },
      );
    } catch (error) {
      this.logger.warn(`presence of ${userId} not published: ${(error as Error).message}`);
    }
  }

  private async beat(): Promise<void> {
    for (const ws of this.wss.clients) {
      if (!this.alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
    const users = [...this.sockets.keys()];
    if (users.length === 0) return;
    const deadline = String(Date.now() + PRESENCE_TTL_MS);
    // One small transaction per user (their keys are in different slots), all pipelined in one tick.
    await this.redis.attempt('presence refresh', (redis) =>
      Promise.all(
        users.map((userId) =>
          redis
            .transaction(RedisKeys.presence(userId))
            .hSet(this.config.instanceId, deadline)
            .pExpire(PRESENCE_TTL_MS)
            .exec(),
        ),
      ),
    );
  }

  private async resubscribeMissing(): Promise<void> {
    const channels = this.redis.subscriber.subscribedChannels();
    for (const userId of this.sockets.keys()) {
      if (channels.has(RedisChannels.user(userId))) continue;
      this.subscriptions.set(userId, this.subscribe(userId));
    }
  }

  /**
   * Shutdown: refuse new sockets, tell every client to reconnect elsewhere (1012), drop this instance's
   * presence fields, and give clients a moment to close before cutting them.
   */
  async close(graceMs = 1_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const ws of this.wss.clients) ws.close(CLOSE_RESTARTING, 'server restarting; reconnect');
    const users = [...this.sockets.keys()];
    if (users.length > 0) {
      await this.redis.attempt('presence shutdown', (redis) =>
        Promise.all(users.map((userId) => redis.hDel(RedisKeys.presence(userId), this.config.instanceId))),
      );
    }
    const deadline = Date.now() + graceMs;
    while (this.wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close(0);
  }
}
