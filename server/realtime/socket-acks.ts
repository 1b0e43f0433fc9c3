import type { WebSocket } from 'ws';
import { MAX_ACK_IDS } from '../../common/contracts/realtime-events';
import type { AuthenticatedUser } from '../http/http-types';

/**
 * Largest frame a client may send: an `ack` of MAX_ACK_IDS ids written compactly (`{"type":"ack","ids":[...]}`,
 * 39 bytes per quoted uuid and comma) with a little slack, about 38 KiB; every other client frame is far smaller
 * (an `auth` frame's token is under 1 KiB). A larger frame closes the socket with 1009 (message too big).
 */
export const MAX_CLIENT_FRAME_BYTES = MAX_ACK_IDS * 39 + 64;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isAckIds = (ids: unknown): ids is string[] =>
  Array.isArray(ids) &&
  ids.length > 0 &&
  ids.length <= MAX_ACK_IDS &&
  ids.every((id) => typeof id === 'string' && UUID.test(id));

export interface SocketAcksOptions {
  acknowledge(device: AuthenticatedUser, ids: string[]): Promise<void>;
  /** Sends an `error` frame on the socket. */
  refuse(ws: WebSocket, message: string): void;
  warn(message: string): void;
}

/**
 * `{"type":"ack","ids"}` frames: no answer unless refused (`error`; the socket stays open). One round trip at a
 * time per socket however fast a client acknowledges: ids arriving while one runs wait for the next round, so no
 * frame is lost to "busy" and a client cannot queue database work.
 */
export class SocketAcks {
  private readonly waiting = new WeakMap<WebSocket, Set<string>>();

  constructor(private readonly options: SocketAcksOptions) {}

  receive(ws: WebSocket, device: AuthenticatedUser, ids: unknown): void {
    if (!isAckIds(ids)) return this.options.refuse(ws, `ack: ids must be a list of 1 to ${MAX_ACK_IDS} uuids`);
    const waiting = this.waiting.get(ws);
    if (!waiting) return void this.rounds(ws, device, new Set(ids));
    if (waiting.size + ids.length > MAX_ACK_IDS)
      return this.options.refuse(ws, `ack: at most ${MAX_ACK_IDS} ids may wait; send them again`);
    for (const id of ids) waiting.add(id);
  }

  private async rounds(ws: WebSocket, device: AuthenticatedUser, first: Set<string>): Promise<void> {
    let ids = first;
    while (ids.size > 0) {
      this.waiting.set(ws, new Set());
      try {
        await this.options.acknowledge(device, [...ids]);
      } catch (error) {
        this.options.warn(`ack not recorded: ${(error as Error).message}`);
        this.options.refuse(ws, 'ack: not recorded; send it again');
      }
      ids = this.waiting.get(ws) ?? new Set();
    }
    this.waiting.delete(ws);
  }
}
