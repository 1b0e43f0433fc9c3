import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { IncomingMessage, Server } from 'node:http';
import { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { parseDeviceTarget, parseSessionRevocation, RealtimeCloseCodes } from '../../common/contracts/realtime-events';
import { RedisChannels } from '../../common/redis/keys';
import { AuthService } from '../auth/auth.service';
import { DevicesRepository } from '../devices/devices.repository';
import { MailboxService } from '../mailbox/mailbox.service';
import type { AuthenticatedUser } from '../http/http-types';
import { ServerConfig } from '../config/server-config';
import { redactUrl } from '../http/logging';
import { RedisService } from '../infrastructure/redis.service';
import { MetricsService } from '../metrics/metrics.service';
import { clientAddressKey } from '../rate-limits/client-address';
import { RateLimitedException, RateLimiter } from '../rate-limits/rate-limiter.service';
import { LocalDevices, PresenceService } from './presence.service';
import { MAX_CLIENT_FRAME_BYTES, SocketAcks } from './socket-acks';
import { SocketSessions } from './socket-sessions';
import { clientAddress, PROTOCOL, refuse, TrustProxy, UpgradeRefused, upgradeToken } from './upgrade-request';

export const WEBSOCKET_PATH = '/v1/ws';
/** Close code sent on shutdown: 1012 "service restart", i.e. reconnect (to another instance) after a short delay. */
export const CLOSE_RESTARTING = RealtimeCloseCodes.restarting;
/** A socket told to close that has not finished the closing handshake by then is cut. */
const CLOSE_GRACE_MS = 1_000;

/**
 * WebSocket endpoint at /v1/ws on the HTTP server. Each user with at least one socket on this instance has
 * this instance's Redis subscriber on `events:user:{id}`; whatever any instance or the worker publishes
 * there is pushed to that user's sockets here. Heartbeats: a ping frame every `realtime.heartbeatMs`, a
 * socket that did not answer the previous one with a pong is dropped, and the same tick refreshes presence
 * (common/redis/presence.ts).
 *
 * A socket lives only as long as its session: every instance hears RedisChannels.sessionRevocations and closes
 * the sockets of revoked sessions (4001), and each socket closes when its access token expires (4002) unless a
 * `{type:"auth"}` frame brought a fresh one. Limits (ServerConfig.realtime): sockets per user and per process,
 * upgrades rate-limited like requests, and a socket that does not read is cut before its buffer passes a bound.
 */
@Injectable()
export class RealtimeGateway implements OnApplicationShutdown {
  private readonly logger = new Logger(RealtimeGateway.name);
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
  });
  private readonly sockets = new Map<string, Set<WebSocket>>();
  /** Per user: the subscription being made or made; sockets wait on it before saying "ready". */
  private readonly subscriptions = new Map<string, Promise<boolean>>();
  private readonly alive = new WeakSet<WebSocket>();
  /** Sockets with an `auth` frame being checked: one at a time, so a client cannot queue verifications. */
  private readonly reauthenticating = new WeakSet<WebSocket>();
  private readonly acks = new SocketAcks({
    acknowledge: (device, ids) => this.mailbox.acknowledge(device, ids),
    refuse: (ws, message) => void this.send(ws, JSON.stringify({ type: 'error', message })),
    warn: (message) => this.logger.warn(message),
  });
  private readonly sessions = new SocketSessions((ws) =>
    this.end(ws, RealtimeCloseCodes.tokenExpired, 'token expired'),
  );
  /** Upgrades past the cheap checks and not yet sockets: they count against the per-process cap. */
  private pendingUpgrades = 0;
  private rechecking: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    @Inject(ServerConfig) private readonly config: ServerConfig,
    private readonly auth: AuthService,
    private readonly sessionStore: DevicesRepository,
    private readonly limiter: RateLimiter,
    private readonly redis: RedisService,
    private readonly presence: PresenceService,
    private readonly metrics: MetricsService,
    private readonly mailbox: MailboxService,
  ) {}

  /** `trust` is the compiled TRUST_PROXY the HTTP adapter uses too, so upgrades are keyed on the same client address. */
  attach(server: Server, trust: TrustProxy = () => false): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket, head, trust).catch((error: Error) => {
        this.logger.warn(`websocket upgrade failed: ${error.message}`);
        socket.destroy();
      });
    });
    this.heartbeat = setInterval(() => void this.beat(), this.config.realtime.heartbeatMs);
    this.heartbeat.unref();
    void this.subscribeRevocations();
    // Subscriptions that failed while Redis was down are made again when it is back; revocations published
    // meanwhile were lost, so every socket's session is checked once more.
    this.redis.subscriber.onReady(() => void this.resubscribeMissing().then(() => this.recheckSessions()));
  }

  /** Number of open sockets on this instance. */
  get connectionCount(): number {
    return this.wss.clients.size;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, trust: TrustProxy): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== WEBSOCKET_PATH) return refuse(socket, new UpgradeRefused(404, 'not-found', 'Not Found'));
    const limits = this.config.realtime;
    const address = clientAddress(request, trust);
    this.pendingUpgrades++;
    try {
      if (this.closing) throw new UpgradeRefused(503, 'restarting', 'server is shutting down; reconnect');
      const token = upgradeToken(request, url);
      if (this.wss.clients.size + this.pendingUpgrades > limits.maxSocketsPerProcess)
        throw new UpgradeRefused(503, 'process-cap', 'this instance holds all the sockets it may; reconnect later');
      await this.rateLimit('ip', clientAddressKey(address)); // IPv6 per /64, as every request
      let user: AuthenticatedUser;
      let expiresAt: Date;
      try {
        ({ user, expiresAt } = await this.auth.authenticateUntil(token));
      } catch (error) {
        throw new UpgradeRefused(401, 'unauthenticated', (error as Error).message);
      }
      await this.rateLimit('upgrade', user.id);
      // Checked after the last await, so concurrent upgrades of one user cannot all pass it.
      if ((this.sockets.get(user.id)?.size ?? 0) >= limits.maxSocketsPerUser)
        throw new UpgradeRefused(429, 'user-cap', `at most ${limits.maxSocketsPerUser} sockets per user; close one`);
      if (this.closing) throw new UpgradeRefused(503, 'restarting', 'server is shutting down; reconnect');
      this.wss.handleUpgrade(request, socket, head, (ws) => void this.connected(ws, user, expiresAt));
    } catch (error) {
      if (!(error instanceof UpgradeRefused)) throw error;
      this.metrics.websocketRefusals.inc({ reason: error.reason });
      this.logger.log(
        `websocket refused ${error.status} (${error.reason}) ${request.method} ${redactUrl(request.url)} from ${address}: ${error.message}`,
      );
      refuse(socket, error);
    } finally {
      this.pendingUpgrades--;
    }
  }

  private async rateLimit(rule: 'ip' | 'upgrade', subject: string): Promise<void> {
    try {
      await this.limiter.consume(rule, subject);
    } catch (error) {
      if (!(error instanceof RateLimitedException)) throw error;
      throw new UpgradeRefused(429, 'rate-limited', 'too many connection attempts', {
        'Retry-After': String(error.retryAfterSeconds),
      });
    }
  }

  private async connected(ws: WebSocket, user: AuthenticatedUser, expiresAt: Date): Promise<void> {
    // Authenticated just before its session was revoked: the revocation went by before this socket existed.
    if (this.sessions.wasRevoked(user.sessionId))
      return this.end(ws, RealtimeCloseCodes.sessionRevoked, 'session revoked');
    const userId = user.id;
    this.metrics.websocketConnections.inc();
    this.alive.add(ws);
    this.sessions.add(ws, userId, user.deviceId, user.sessionId, expiresAt);
    let userSockets = this.sockets.get(userId);
    const first = !userSockets;
    const firstOfDevice = !this.hasDeviceSocket(userSockets, user.deviceId);
    if (!userSockets) this.sockets.set(userId, (userSockets = new Set()));
    userSockets.add(ws);

    ws.on('pong', () => this.alive.add(ws));
    ws.on('message', (data) => this.received(ws, data.toString()));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => void this.disconnected(ws, userId));

    if (first) this.subscriptions.set(userId, this.subscribe(userId));
    const subscribed = await this.subscriptions.get(userId);
    if (firstOfDevice) await this.presence.join(userId, user.deviceId);
    this.send(
      ws,
      JSON.stringify({
        type: 'ready',
        userId,
        deviceId: user.deviceId,
        instanceId: this.config.instanceId,
        heartbeatMs: this.config.realtime.heartbeatMs,
        expiresAt: new Date(this.sessions.get(ws)?.expiresAt ?? expiresAt).toISOString(),
        realtime: subscribed ? 'live' : 'degraded',
      }),
    );
  }

  /**
   * Clients may send `{"type":"ping"}` (answered with a pong, for their own checks; it does not keep the socket
   * alive, only pong frames do), `{"type":"auth","token"}` (a fresh access token of the same session) and
   * `{"type":"ack","ids"}` (mailbox items and conversation messages this device has).
   */
  private received(ws: WebSocket, text: string): void {
    let frame: { type?: unknown; token?: unknown; ids?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      frame = {};
    }
    if (frame?.type === 'ping') this.send(ws, JSON.stringify({ type: 'pong', at: new Date().toISOString() }));
    else if (frame?.type === 'auth' && typeof frame.token === 'string') void this.reauthenticate(ws, frame.token);
    else if (frame?.type === 'ack') this.acknowledge(ws, frame.ids);
    else
      this.send(
        ws,
        JSON.stringify({
          type: 'error',
          message: 'only {"type":"ping"}, {"type":"auth","token"} and {"type":"ack","ids"} are accepted',
        }),
      );
  }

  private acknowledge(ws: WebSocket, ids: unknown): void {
    const session = this.sessions.get(ws);
    if (session)
      this.acks.receive(ws, { id: session.userId, deviceId: session.deviceId, sessionId: session.sessionId }, ids);
  }

  /** Answers `{type:"auth", expiresAt}` when the socket now lives until the new token's expiry, else an error. */
  private async reauthenticate(ws: WebSocket, token: string): Promise<void> {
    const current = this.sessions.get(ws);
    if (!current) return;
    if (this.reauthenticating.has(ws))
      return void this.send(ws, JSON.stringify({ type: 'error', message: 'auth: one at a time' }));
    this.reauthenticating.add(ws);
    let renewed: Awaited<ReturnType<AuthService['authenticateUntil']>>;
    try {
      renewed = await this.auth.authenticateUntil(token);
    } catch (error) {
      return void this.send(ws, JSON.stringify({ type: 'error', message: `auth: ${(error as Error).message}` }));
    } finally {
      this.reauthenticating.delete(ws);
    }
    if (renewed.user.id !== current.userId || renewed.user.sessionId !== current.sessionId)
      return void this.send(ws, JSON.stringify({ type: 'error', message: 'auth: the token is for another session' }));
    this.sessions.renew(ws, renewed.expiresAt);
    this.send(ws, JSON.stringify({ type: 'auth', expiresAt: renewed.expiresAt.toISOString() }));
  }

  /**
   * Every write goes through here: a socket whose unsent bytes would pass `maxBufferedBytes` is cut instead of
   * buffering more (its client does not read; its close frame could not get through either).
   */
  private send(ws: WebSocket, text: string): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount + Buffer.byteLength(text) > this.config.realtime.maxBufferedBytes) {
      this.metrics.websocketClosures.inc({ reason: 'slow-consumer' });
      this.logger.warn(`websocket cut: ${ws.bufferedAmount} bytes unsent (slow consumer)`);
      ws.terminate();
      return false;
    }
    ws.send(text);
    return true;
  }

  /** Closes with a code the client acts on; a client that does not complete the closing handshake is cut. */
  private end(ws: WebSocket, code: number, reason: string): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    this.metrics.websocketClosures.inc({ reason: reason.replace(/ /g, '-') });
    ws.close(code, reason);
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private async disconnected(ws: WebSocket, userId: string): Promise<void> {
    this.metrics.websocketConnections.dec();
    const deviceId = this.sessions.get(ws)?.deviceId;
    this.sessions.remove(ws);
    const userSockets = this.sockets.get(userId);
    if (!userSockets?.delete(ws)) return;
    if (userSockets.size > 0) {
      // The user stays online here; only the device's own field goes when it was its last socket.
      if (deviceId !== undefined && !this.closing && !this.hasDeviceSocket(userSockets, deviceId))
        await this.presence.leave(userId, deviceId, { tellContacts: false });
      return;
    }
    this.sockets.delete(userId);
    this.subscriptions.delete(userId);
    if (this.closing) return;
    await this.redis.attempt('unsubscribe', (_) => this.redis.subscriber.unsubscribe(RedisChannels.user(userId)));
    // The user may have reconnected here while we were unsubscribing (perhaps from another device: this one's
    // field must still go, or the worker would not push to it until the field's deadline passed).
    const reconnected = this.sockets.get(userId);
    if (reconnected) this.subscriptions.set(userId, this.subscribe(userId));
    if (deviceId !== undefined && !this.hasDeviceSocket(reconnected, deviceId))
      await this.presence.leave(userId, deviceId, { tellContacts: !reconnected });
  }

  private hasDeviceSocket(sockets: Set<WebSocket> | undefined, deviceId: number): boolean {
    for (const socket of sockets ?? []) if (this.sessions.get(socket)?.deviceId === deviceId) return true;
    return false;
  }

  /** Per user with sockets here, the devices they belong to (presence fields are per device). */
  private localDevices(): LocalDevices[] {
    return [...this.sockets]
      .map(([userId, sockets]) => ({
        userId,
        deviceIds: [...new Set([...sockets].flatMap((ws) => this.sessions.get(ws)?.deviceId ?? []))],
      }))
      .filter(({ deviceIds }) => deviceIds.length > 0);
  }

  private async subscribe(userId: string): Promise<boolean> {
    const done = await this.redis.attempt('subscribe', () =>
      this.redis.subscriber.subscribe(RedisChannels.user(userId), (message) => this.deliver(userId, message)),
    );
    return done !== undefined || this.redis.subscriber.isReady;
  }

  /** Sends a published event to the user's sockets here, or to one device's sockets when it is aimed at one. */
  private deliver(userId: string, published: string): void {
    const userSockets = this.sockets.get(userId);
    if (!userSockets) return;
    const { deviceId, payload } = parseDeviceTarget(published);
    if (!payload) return void this.logger.warn('ignored a malformed device-targeted event');
    const type = /"type":"([\w-]+)"/.exec(payload)?.[1] ?? 'unknown';
    for (const ws of userSockets) {
      if (deviceId !== undefined && this.sessions.get(ws)?.deviceId !== deviceId) continue;
      if (this.send(ws, payload)) this.metrics.realtimeEvents.inc({ type });
    }
  }

  /** On the subscriber alone: the command connection may still be connecting when the subscriber is ready. */
  private async subscribeRevocations(): Promise<void> {
    const subscriber = this.redis.subscriber;
    if (!subscriber.isReady || subscriber.subscribedChannels().has(RedisChannels.sessionRevocations)) return;
    try {
      await subscriber.subscribe(RedisChannels.sessionRevocations, (message) => this.revoked(message));
    } catch (error) {
      this.logger.warn(`session revocations not subscribed yet: ${(error as Error).message}`);
    }
  }

  private revoked(message: string): void {
    const revocation = parseSessionRevocation(message);
    if (!revocation) return void this.logger.warn('ignored a malformed session revocation');
    this.sessionStore.forgetSessions(revocation.userId, revocation.sessionIds);
    this.sessions.markRevoked(revocation.sessionIds);
    for (const sessionId of revocation.sessionIds) {
      for (const ws of this.sessions.socketsOf(sessionId)) {
        if (this.sessions.get(ws)?.userId === revocation.userId)
          this.end(ws, RealtimeCloseCodes.sessionRevoked, 'session revoked');
      }
    }
  }

  /** While revocations cannot be heard (Redis down), each socket's session is checked (the database answers). */
  private get revocationsHeard(): boolean {
    return (
      this.redis.subscriber.isReady && this.redis.subscriber.subscribedChannels().has(RedisChannels.sessionRevocations)
    );
  }

  /** One pass at a time; a session whose check fails (database down too) keeps its sockets until the next. */
  private recheckSessions(): Promise<void> {
    if (this.rechecking) return this.rechecking;
    const pass = (async () => {
      for (const { userId, sessionId } of this.sessions.sessions()) {
        const live = await this.sessionStore.isLive(userId, sessionId).catch(() => true);
        if (live) continue;
        for (const ws of this.sessions.socketsOf(sessionId))
          this.end(ws, RealtimeCloseCodes.sessionRevoked, 'session revoked');
      }
    })();
    this.rechecking = pass.finally(() => (this.rechecking = undefined));
    return this.rechecking;
  }

  private async beat(): Promise<void> {
    if (!this.revocationsHeard) {
      void this.subscribeRevocations();
      void this.recheckSessions();
    }
    for (const ws of this.wss.clients) {
      if (!this.alive.has(ws)) {
        this.metrics.websocketClosures.inc({ reason: 'no-pong' });
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
    await this.presence.refresh(this.localDevices());
  }

  private async resubscribeMissing(): Promise<void> {
    const channels = this.redis.subscriber.subscribedChannels();
    await this.subscribeRevocations();
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
    await this.presence.dropAll(this.localDevices());
    const deadline = Date.now() + graceMs;
    while (this.wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close(0);
  }
}
