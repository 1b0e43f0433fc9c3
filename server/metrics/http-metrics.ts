import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MetricsService } from './metrics.service';

/**
 * Request rate and latency by route pattern (`/v1/conversations/:id/messages`, never the raw URL, so the
 * label set stays small). Timed from onRequest, so refused requests (415, 413, lame-duck 503) are counted too.
 */
export function useHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  const started = new WeakMap<FastifyRequest, bigint>();
  fastify.addHook('onRequest', (request, _reply, done) => {
    started.set(request, process.hrtime.bigint());
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    metrics.httpRequests.inc(labels);
    const since = started.get(request);
    if (since !== undefined) metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - since) / 1e9);
    done();
  });
}
