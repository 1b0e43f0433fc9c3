import { listenForMetrics } from './metrics-listener';
import { MetricsService } from './metrics.service';

describe("a process's own metrics listener", () => {
  it('serves GET /metrics from its registry on loopback, and nothing else', async () => {
    const metrics = new MetricsService();
    metrics.httpRequests.inc({ method: 'GET', route: '/health', status: '200' });
    const { server, port } = await listenForMetrics(metrics, 0);
    try {
      expect(server.address()).toMatchObject({ address: '127.0.0.1' });
      const scrape = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toMatch(/cyphr_http_requests_total\{[^}]*route="\/health"[^}]*\} 1/);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
