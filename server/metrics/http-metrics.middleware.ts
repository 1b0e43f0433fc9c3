import type { HttpRequest, HttpResponse, Next } from '../http/http-types';
import { MetricsService } from './metrics.service';

/**
 * Request rate and latency by route pattern (`/v1/conversations/:id/messages`, never the raw URL, so the
 * label set stays small). Registered before everything else so even refused requests are counted.
 */
export function httpMetrics(metrics: MetricsService) {
  return (req: HttpRequest, res: HttpResponse, next: Next): void => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl ?? ''}${req.route.path}` : 'unmatched';
      const labels = { method: req.method ?? 'GET', route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
