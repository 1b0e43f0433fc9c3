// The agent scrapes metrics the processes really export, of types it keeps (it drops histograms).
import { MetricsService } from '../../server/metrics/metrics.service';
import { WorkerMetrics } from '../../worker/observability/metrics';
import { agentConfig, prometheusConfig, SCRAPED_METRICS } from './cloudwatch-agent';

const registries = {
  'cyphr-api': new MetricsService().registry,
  'cyphr-worker': new WorkerMetrics({ defaultMetrics: false }).registry,
};

describe('CloudWatch agent config', () => {
  it.each(Object.entries(SCRAPED_METRICS))(
    '%s: every scraped metric exists and is a counter or gauge',
    async (job, names) => {
      const exported = await registries[job as keyof typeof registries].getMetricsAsJSON();
      for (const name of names) {
        const metric = exported.find((m) => m.name === name);
        expect({ name, type: String(metric?.type) }).toEqual({
          name,
          type: expect.stringMatching(/^(counter|gauge)$/),
        });
      }
    },
  );

  it('ships each process to its environment group and the scrapes to the metrics group', () => {
    const config = agentConfig('staging') as { logs: Record<string, Record<string, any>> };
    const files = config.logs.logs_collected.files.collect_list.map((f: Record<string, string>) => [
      f.file_path,
      f.log_group_name,
    ]);
    // One file per process of the template units (as many as an instance of any tier runs: two), one for the migration.
    const indexes = [0, 1];
    expect(files).toEqual([
      ...indexes.map((n) => [`/var/log/cyphr/api-${n}.log`, '/cyphr/staging/api']),
      ...indexes.map((n) => [`/var/log/cyphr/worker-${n}.log`, '/cyphr/staging/worker']),
      ['/var/log/cyphr/migrate.log', '/cyphr/staging/migrate'],
    ]);
    // Streams stay unique per instance and process.
    const streams = config.logs.logs_collected.files.collect_list.map(
      (f: Record<string, string>) => `${f.log_group_name} ${f.log_stream_name}`,
    );
    expect(new Set(streams).size).toBe(streams.length);
    expect(streams).toContain('/cyphr/staging/api {instance_id}/1');
    // The Prometheus scraper sits under logs.metrics_collected in the agent's schema (not logs_collected).
    expect(Object.keys(config.logs.logs_collected)).toEqual(['files']);
    expect(config.logs.metrics_collected.prometheus.log_group_name).toBe('/cyphr/staging/metrics');
    expect(prometheusConfig()).toMatch(/job_name: cyphr-api[\s\S]*regex: 'cyphr_websocket_connections\|/);
    // Each process's own metrics port: a scrape of the shared API port would reach one process at random.
    expect(prometheusConfig()).toContain("targets: ['127.0.0.1:9480', '127.0.0.1:9481']");
    expect(prometheusConfig()).toContain("targets: ['127.0.0.1:9470', '127.0.0.1:9471']");
    expect(prometheusConfig()).not.toContain(':3001');
    // Pushes are split by outcome; everything else is one series per job.
    const declarations = config.logs.metrics_collected.prometheus.emf_processor.metric_declaration;
    expect(
      declarations.map((d: { dimensions: string[][]; metric_selectors: string[] }) => [
        d.dimensions,
        d.metric_selectors,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [[['job', 'outcome']], ['^cyphr_worker_push_total$']],
        [[['job']], expect.arrayContaining(['^cyphr_worker_mailbox_pending_messages$'])],
      ]),
    );
    expect(
      declarations.filter((d: { metric_selectors: string[] }) =>
        d.metric_selectors.includes('^cyphr_worker_push_total$'),
      ),
    ).toHaveLength(1);
  });
});
