import { CyphrClient, LiveConnection } from '../../scripts/testing/api-client';
import { CpuMeter, rssBytes } from '../lib/cpu';
import { inParallel } from '../lib/fixtures';
import { scrapeMetric, startApi } from '../lib/processes';
import { BenchContext, sleep } from './common';

/**
 * Connections: how many authenticated WebSocket connections one API process holds, with its heartbeats (a ping
 * per socket and a presence refresh per user every 20 s; a socket that missed a pong is dropped), and the
 * process's memory per connection. Users are registered through the API (argon2 takes ~20 ms each, so
 * 10,000 registrations would take minutes on 2 cores): each user opens `perUser` connections, as several
 * devices of one account do; each connection is authenticated (JWT + session check) on its own.
 */
export interface ConnectionsResult {
  target: number;
  users: number;
  perUser: number;
  opened: number;
  failed: number;
  openSeconds: number;
  heldSeconds: number;
  /** Client sockets still open after the hold (heartbeats did not drop them). */
  openAfterHold: number;
  /** cyphr_websocket_connections as the server reports it after the hold. */
  serverCount: number;
  rssBeforeMiB: number;
  /**
   * The highest RSS read while holding. V8 gives garbage back late (the end of a hold can read below the start, which
   * still held start-up garbage), so the cost per connection is taken from the peak: an upper bound.
   */
  rssPeakMiB?: number;
  rssAfterMiB: number;
  bytesPerConnection: number;
  /** API cores busy while only holding the connections (heartbeats, presence refresh). */
  apiCoresWhileHolding: number;
  firstError?: string;
}

const MiB = 1024 * 1024;

export async function measureConnections(ctx: BenchContext): Promise<ConnectionsResult> {
  const { settings, progress, fixtures } = ctx;
  const { target, perUser, holdSeconds, openParallel } = settings.connections;
  const users = fixtures.users.slice(0, Math.ceil(target / perUser));
  const api = await startApi();
  const sockets: LiveConnection[] = [];
  try {
    const client = new CyphrClient(api.url);
    for (let index = 0; index < 20; index++) await fetch(`${api.url}/health`); // settle start-up allocations
    await sleep(2000);
    const rssBefore = rssBytes(api.pid);

    let failed = 0;
    let firstError: string | undefined;
    const started = Date.now();
    const slots = Array.from({ length: users.length * perUser }, (_, index) => users[index % users.length]).slice(
      0,
      target,
    );
    await inParallel(slots, openParallel, async (user) => {
      try {
        sockets.push(await client.connect(user));
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
      if ((sockets.length + failed) % 500 === 0) progress.update(`${sockets.length} open, ${failed} failed`);
    });
    const openSeconds = (Date.now() - started) / 1000;
    progress.note(`${sockets.length} open in ${openSeconds.toFixed(1)} s, ${failed} failed`);

    const meter = new CpuMeter({ api: { pids: () => [api.pid] } });
    meter.start();
    const holdUntil = Date.now() + holdSeconds * 1000;
    let rssPeak = rssBytes(api.pid);
    while (Date.now() < holdUntil) {
      for (const socket of sockets) socket.events.length = 0;
      const open = sockets.filter((socket) => socket.ws.readyState === socket.ws.OPEN).length;
      const rss = rssBytes(api.pid);
      rssPeak = Math.max(rssPeak, rss);
      progress.update(`holding ${open} connections, API RSS ${Math.round(rss / MiB)} MiB`);
      await sleep(1000);
    }
    const apiCoresWhileHolding = meter.stop().api;
    const rssAfter = rssBytes(api.pid);
    rssPeak = Math.max(rssPeak, rssAfter);
    const openAfterHold = sockets.filter((socket) => socket.ws.readyState === socket.ws.OPEN).length;
    const serverCount = await scrapeMetric(`${api.url}/metrics`, 'cyphr_websocket_connections');
    const result: ConnectionsResult = {
      target,
      users: users.length,
      perUser,
      opened: sockets.length,
      failed,
      openSeconds: Number(openSeconds.toFixed(1)),
      heldSeconds: holdSeconds,
      openAfterHold,
      serverCount,
      rssBeforeMiB: Number((rssBefore / MiB).toFixed(1)),
      rssPeakMiB: Number((rssPeak / MiB).toFixed(1)),
      rssAfterMiB: Number((rssAfter / MiB).toFixed(1)),
      bytesPerConnection: Math.max(0, Math.round((rssPeak - rssBefore) / Math.max(1, openAfterHold))),
      apiCoresWhileHolding,
      firstError,
    };
    progress.note(
      `${openAfterHold} held ${holdSeconds} s; API RSS peak ${result.rssPeakMiB} MiB, ${(result.bytesPerConnection / 1024).toFixed(1)} KiB per connection`,
    );
    return result;
  } finally {
    for (const socket of sockets) socket.close();
    await api.stop();
  }
}
