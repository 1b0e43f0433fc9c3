// How every stand-in listens: on 127.0.0.1 only, on the port asked for (0: any free one).
import type { Server } from 'node:net';

/** Starts listening on 127.0.0.1:`port`; rejects if the port is taken. */
export function listenOnLoopback(server: Server, port = 0): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}
