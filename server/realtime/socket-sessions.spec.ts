import type { WebSocket } from 'ws';
import { REVOCATION_MEMORY_MS, SocketSessions } from './socket-sessions';

const socket = () => ({}) as WebSocket;

describe('SocketSessions', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('ends a socket when its token expires, and at the renewed expiry instead once renewed', () => {
    const expired: WebSocket[] = [];
    const sessions = new SocketSessions((ws) => expired.push(ws));
    const [a, b] = [socket(), socket()];
    sessions.add(a, 'u1', 1, 's1', new Date(Date.now() + 1_000));
    sessions.add(b, 'u1', 1, 's1', new Date(Date.now() + 1_000));
    sessions.renew(b, new Date(Date.now() + 5_000));

    jest.advanceTimersByTime(1_000);
    expect(expired).toEqual([a]);
    jest.advanceTimersByTime(4_000);
    expect(expired).toEqual([a, b]);
  });

  it('indexes sockets by session and forgets removed ones (no timer fires for them)', () => {
    const expired: WebSocket[] = [];
    const sessions = new SocketSessions((ws) => expired.push(ws));
    const [a, b, c] = [socket(), socket(), socket()];
    sessions.add(a, 'u1', 1, 's1', new Date(Date.now() + 1_000));
    sessions.add(b, 'u1', 1, 's2', new Date(Date.now() + 1_000));
    sessions.add(c, 'u2', 1, 's3', new Date(Date.now() + 1_000));
    expect(sessions.socketsOf('s1')).toEqual([a]);
    expect(sessions.sessions()).toEqual([
      { userId: 'u1', sessionId: 's1' },
      { userId: 'u1', sessionId: 's2' },
      { userId: 'u2', sessionId: 's3' },
    ]);
    sessions.remove(a);
    expect(sessions.socketsOf('s1')).toEqual([]);
    jest.advanceTimersByTime(1_000);
    expect(expired).toEqual([b, c]);
  });

  it('re-arms a wait longer than setTimeout allows', () => {
    const expired: WebSocket[] = [];
    const sessions = new SocketSessions((ws) => expired.push(ws));
    const ws = socket();
    sessions.add(ws, 'u1', 1, 's1', new Date(Date.now() + 40 * 24 * 3600 * 1000));
    jest.advanceTimersByTime(30 * 24 * 3600 * 1000);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(10 * 24 * 3600 * 1000);
    expect(expired).toEqual([ws]);
  });

  it('remembers revoked sessions for a while', () => {
    const sessions = new SocketSessions(() => undefined);
    sessions.markRevoked(['s1']);
    expect(sessions.wasRevoked('s1')).toBe(true);
    sessions.markRevoked(['s2'], Date.now() + REVOCATION_MEMORY_MS);
    expect(sessions.wasRevoked('s1')).toBe(false);
    expect(sessions.wasRevoked('s2')).toBe(true);
  });
});
