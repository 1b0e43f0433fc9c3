import { LiveSocket, ServerFrame } from './socket';
import { Transport } from './transport';
import type { WebSocketLike } from './types';

/** A scripted WebSocket: the test plays the server. */
class FakeSocket implements WebSocketLike {
  static opened: FakeSocket[] = [];
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  sent: unknown[] = [];

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.opened.push(this);
    setTimeout(() => {
      this.readyState = 1;
      this.serverSends({ type: 'ready', expiresAt: new Date(Date.now() + 15 * 60_000).toISOString() });
    }, 0);
  }

  serverSends(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  serverCloses(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(): void {
    this.readyState = 3;
  }
}

const transport = { accessToken: async () => 'token-1' } as unknown as Transport;

function socket() {
  const frames: ServerFrame[] = [];
  const errors: Error[] = [];
  let readies = 0;
  const live = new LiveSocket(
    'ws://api/v1/ws',
    FakeSocket as unknown as ConstructorParameters<typeof LiveSocket>[1],
    transport,
    (frame) => frames.push(frame),
    () => readies++,
    (error) => errors.push(error),
  );
  return { live, frames, errors, readies: () => readies };
}

const waitFor = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 30));
  expect(check()).toBe(true);
};

describe('LiveSocket', () => {
  beforeEach(() => (FakeSocket.opened = []));

  it('sends the token in the subprotocols (never the URL) and resolves on ready', async () => {
    const { live, frames } = socket();
    await live.open();
    const [ws] = FakeSocket.opened;
    expect(ws.url).toBe('ws://api/v1/ws');
    expect(ws.protocols).toEqual(['cyphr', 'bearer.token-1']);
    ws.serverSends({ type: 'message', message: {} });
    expect(frames.map((f) => f.type)).toEqual(['message']);
    expect(live.send({ type: 'ack', ids: ['x'] })).toBe(true);
    expect(ws.sent).toEqual([{ type: 'ack', ids: ['x'] }]);
    live.close();
  });

  it('reconnects after a drop and says ready again (the moment to catch up)', async () => {
    const { live, readies } = socket();
    await live.open();
    FakeSocket.opened[0].serverCloses(1012);
    await waitFor(() => readies() === 2);
    expect(FakeSocket.opened).toHaveLength(2);
    live.close();
  });

  it('does not reconnect after 4001 (device removed) or after close()', async () => {
    const { live, errors } = socket();
    await live.open();
    FakeSocket.opened[0].serverCloses(4001);
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('removed')]);
    const second = socket();
    await second.live.open();
    second.live.close();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(FakeSocket.opened).toHaveLength(2);
  });
});
