import type { onRequestHookHandler } from 'fastify';
import { Server as NetServer } from 'node:net';
import type { Server } from 'node:http';
import { errorBody } from './error-body';

/**
 * Stops an HTTP server without cutting a request it already has. Closing a listening socket makes the
 * kernel reset every connection still waiting in its accept queue, and Node's `server.close()` also drops
 * connections whose request is not parsed yet: under load, clients would see ECONNRESET. So, on SIGTERM:
 *  1. lame duck: keep listening and serving, but answer `/health` with 503 (the load balancer takes this
 *     instance out) and every response with `Connection: close` (keep-alive clients move elsewhere);
 *  2. stop listening (the plain net close, which leaves open connections alone);
 *  3. close connections as they turn idle; cut whatever is left at the deadline.
 * On AWS the ALB has usually deregistered the instance before SIGTERM (ASG lifecycle); the lame-duck
 * period covers the local proxy and anything that raced the deregistration.
 */
export class GracefulDrain {
  private draining = false;

  constructor(
    private readonly server: Server,
    private readonly lameDuckMs: number,
  ) {}

  get isDraining(): boolean {
    return this.draining;
  }

  /** Fastify onRequest hook, registered before the others. */
  readonly onRequest: onRequestHookHandler = (request, reply, done): void => {
    if (!this.draining) return done();
    reply.header('Connection', 'close');
    if (request.method === 'GET' && request.url.split('?')[0] === '/health') {
      void reply.code(503).send(errorBody(503, 'Draining: this instance is shutting down'));
      return;
    }
    done();
  };

  /** Resolves when every connection is gone, or at `deadline` (epoch ms) after cutting the rest. */
  async drain(deadline: number): Promise<void> {
    this.draining = true;
    await sleep(Math.min(this.lameDuckMs, Math.max(0, deadline - Date.now())));
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    const sweep = setInterval(() => this.server.closeIdleConnections(), 100);
    const cutoff = setTimeout(() => this.server.closeAllConnections(), Math.max(0, deadline - Date.now()));
    try {
      this.server.closeIdleConnections();
      await closed;
    } finally {
      clearInterval(sweep);
      clearTimeout(cutoff);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
