import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { MAX_ACK_IDS } from '../../common/contracts/realtime-events';
import { isAckIds, MAX_CLIENT_FRAME_BYTES, SocketAcks } from './socket-acks';

const device = { id: randomUUID(), deviceId: 2, sessionId: randomUUID() };
const ws = {} as WebSocket;

function setup(acknowledge: (ids: string[]) => Promise<void> = async () => undefined) {
  const rounds: string[][] = [];
  const refused: string[] = [];
  const acks = new SocketAcks({
    acknowledge: (_device, ids) => {
      rounds.push(ids);
      return acknowledge(ids);
    },
    refuse: (_ws, message) => refused.push(message),
    warn: () => undefined,
  });
  return { acks, rounds, refused };
}

describe('SocketAcks', () => {
  it('fits an ack of the most ids in one frame, written compactly', () => {
    const ids = Array.from({ length: MAX_ACK_IDS }, () => randomUUID());
    expect(Buffer.byteLength(JSON.stringify({ type: 'ack', ids }))).toBeLessThanOrEqual(MAX_CLIENT_FRAME_BYTES);
    expect(MAX_CLIENT_FRAME_BYTES).toBeLessThan(40 * 1024);
    expect(isAckIds(ids)).toBe(true);
  });

  it.each([
    ['no ids', undefined],
    ['an empty list', []],
    ['a non-uuid', ['nope']],
    ['a number', [1]],
    ['too many', Array.from({ length: MAX_ACK_IDS + 1 }, () => randomUUID())],
  ])('refuses %s with an error frame', (_case, ids) => {
    const { acks, rounds, refused } = setup();
    acks.receive(ws, device, ids);
    expect(rounds).toEqual([]);
    expect(refused).toEqual([`ack: ids must be a list of 1 to ${MAX_ACK_IDS} uuids`]);
  });

  it('runs one round at a time per socket: ids arriving meanwhile go together in the next', async () => {
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const { acks, rounds } = setup((ids) => (ids.length === 1 && rounds.length === 1 ? first : Promise.resolve()));
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    acks.receive(ws, device, [a]);
    acks.receive(ws, device, [b]);
    acks.receive(ws, device, [c, b]);
    expect(rounds).toEqual([[a]]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(rounds).toEqual([[a], [b, c]]);
  });

  it('says so when a round fails, and takes the next ack', async () => {
    const { acks, rounds, refused } = setup(async (ids) => {
      if (rounds.length === 1) throw new Error(`primary down ${ids.length}`);
    });
    acks.receive(ws, device, [randomUUID()]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(refused).toEqual(['ack: not recorded; send it again']);
    acks.receive(ws, device, [randomUUID()]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(rounds).toHaveLength(2);
  });
});
