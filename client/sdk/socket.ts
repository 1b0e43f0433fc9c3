/**
 * The live connection: one WebSocket with the token in the subprotocols (`cyphr, bearer.<token>`, what browsers
 * allow), renewed in place with an `auth` frame before the token expires, and reopened after a drop (not after 4001:
 * the device was removed).
 */
import { RealtimeCloseCodes } from '../../common/contracts/realtime-events';
import { Transport } from './transport';
import type { WebSocketConstructor, WebSocketLike } from './types';

export type ServerFrame = { type: string; [field: string]: unknown };

const RECONNECT_DELAY_MS = 1000;
const RENEW_BEFORE_EXPIRY_MS = 60_000;

export class LiveSocket {
  private ws: WebSocketLike | undefined;
  private closed = false;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly url: string,
    private readonly WebSocketImpl: WebSocketConstructor,
    private readonly transport: Transport,
    private readonly onFrame: (frame: ServerFrame) => void,
    /** After every `ready` (first open and each reconnect): the moment to catch up on what was missed. */
    private readonly onReady: () => void,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Resolves on the server's `ready`, rejects if the upgrade fails. */
  async open(): Promise<void> {
    this.closed = false;
    const token = await this.transport.accessToken();
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      };
      const ws = new this.WebSocketImpl(this.url, ['cyphr', `bearer.${token}`]);
      this.ws = ws;
      ws.onmessage = (event) => {
        let frame: ServerFrame;
        try {
          frame = JSON.parse(typeof event.data === 'string' ? event.data : String(event.data)) as ServerFrame;
        } catch {
          return;
        }
        if (frame.type === 'ready') {
          this.scheduleRenewal(frame.expiresAt);
          settle();
          this.onReady();
          return;
        }
        if (frame.type === 'auth') return this.scheduleRenewal(frame.expiresAt);
        this.onFrame(frame);
      };
      ws.onerror = () => {
        settle(new Error('WebSocket connection failed'));
      };
      ws.onclose = (event) => {
        settle(new Error(`WebSocket closed: ${event.code}`));
        if (this.ws === ws) this.dropped(event.code);
      };
    });
  }

  send(frame: unknown): boolean {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState <= 1) ws.close(1000);
  }

  private scheduleRenewal(expiresAt: unknown): void {
    clearTimeout(this.renewTimer);
    const expiry = typeof expiresAt === 'string' ? Date.parse(expiresAt) : NaN;
    if (Number.isNaN(expiry)) return;
    const delay = Math.max(0, expiry - Date.now() - RENEW_BEFORE_EXPIRY_MS);
    this.renewTimer = setTimeout(() => {
      this.transport
        .refresh()
        .then((tokens) => this.send({ type: 'auth', token: tokens.accessToken }))
        .catch((e: Error) => this.onError(e));
    }, delay);
  }

  private dropped(code: number): void {
    clearTimeout(this.renewTimer);
    this.ws = undefined;
    if (this.closed) return;
    if (code === RealtimeCloseCodes.sessionRevoked) {
      this.onError(new Error('this device was removed from the account (socket closed 4001)'));
      return;
    }
    this.reconnectTimer = setTimeout(() => {
      this.open().catch((e: Error) => {
        this.onError(e);
        if (!this.closed) this.dropped(1006);
      });
    }, RECONNECT_DELAY_MS);
  }
}
