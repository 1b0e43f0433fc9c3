// What the CloudWatch agent on every instance ships: each process's log file (systemd appends the
// unit's output to /var/log/cyphr/<role>-<n>.log, one per process of the template unit, and migrate.log) to its
// role's Terraform-owned group, one stream per instance and process, and the processes' Prometheus endpoints
// (one loopback port per process: infra/config/processes.ts), scraped locally, as embedded-metric-format events
// from which CloudWatch makes the metrics operators need in the namespace Cyphr/<environment>. One AMI serves
// both roles and every tier, so the config names every process an instance may run; a file or port whose process
// does not run on this instance stays absent and its scrape fails quietly.
//
// The agent drops Prometheus histograms (CloudWatch docs: "Prometheus metric type conversion by the
// CloudWatch agent"); counters become per-scrape deltas, gauges pass through.
import { ALL_PROCESS_INDEXES, metricsPort } from '../config/processes';
import { APP_LOG_STREAMS, appLogGroupName, METRICS_LOG_STREAM, type AppLogStream } from './logs';

export const AGENT_DIR = '/opt/aws/amazon-cloudwatch-agent';
// Not etc/amazon-cloudwatch-agent.json: the agent reads that path too, next to what fetch-config installs, so the
// same collectors would load twice.
export const AGENT_CONFIG = `${AGENT_DIR}/etc/cyphr-agent.json`;
export const PROMETHEUS_CONFIG = `${AGENT_DIR}/etc/cyphr-prometheus.yaml`;
export const LOGROTATE_CONFIG = '/etc/logrotate.d/cyphr';
export const APP_LOG_DIR = '/var/log/cyphr';
/** Each process's metrics listener on loopback (METRICS_PORT / WORKER_METRICS_PORT, set by the units per process). */
export const metricsTargets = (role: 'api' | 'worker') =>
  ALL_PROCESS_INDEXES.map((index) => `127.0.0.1:${metricsPort(role, index)}`);
/** Roles whose unit is a template, one process per index; the migration is one oneshot per instance. */
const PER_PROCESS: ReadonlySet<AppLogStream> = new Set(['api', 'worker']);
const SCRAPE_SECONDS = 60;

/** The process metrics on the dashboard, per scrape job; everything else is dropped before it costs anything. */
export const SCRAPED_METRICS = {
  'cyphr-api': ['cyphr_websocket_connections', 'cyphr_http_requests_total', 'cyphr_realtime_events_total'],
  'cyphr-worker': [
    'cyphr_worker_messages_received_total',
    'cyphr_worker_messages_stored_total',
    'cyphr_worker_messages_failed_total',
    'cyphr_worker_messages_dead_lettered_total',
    // Gauges every worker measures alike (a table's state, not the instance's): read them with Maximum, not Sum.
    'cyphr_worker_mailbox_pending_messages',
    'cyphr_worker_mailbox_oldest_pending_age_seconds',
    'cyphr_worker_push_total',
  ],
} as const;

/**
 * Metrics kept per value of a label as well as per job (each label value is one more CloudWatch metric: only
 * where an operator acts on the split). Pushes: a `failed` series is a gateway in trouble, `token-invalid` churn.
 */
export const METRIC_LABELS: Partial<Record<string, string[]>> = {
  cyphr_worker_push_total: ['outcome'],
};

export const metricsNamespace = (environment: string) => `Cyphr/${environment}`;

/** The agent config (the agent runs as root: it reads the units' log files, which only root and cyphr may). */
export function agentConfig(environment: string): Record<string, unknown> {
  return {
    agent: { metrics_collection_interval: SCRAPE_SECONDS, logfile: `${AGENT_DIR}/logs/amazon-cloudwatch-agent.log` },
    logs: {
      force_flush_interval: 15,
      logs_collected: {
        files: {
          collect_list: APP_LOG_STREAMS.flatMap((stream) =>
            (PER_PROCESS.has(stream) ? ALL_PROCESS_INDEXES : [undefined]).map((index) => ({
              file_path: `${APP_LOG_DIR}/${stream}${index === undefined ? '' : `-${index}`}.log`,
              log_group_name: appLogGroupName(environment, stream),
              log_stream_name: index === undefined ? '{instance_id}' : `{instance_id}/${index}`,
              timezone: 'UTC',
            })),
          ),
        },
      },
      // The agent's schema puts the Prometheus scraper under logs.metrics_collected: its output is EMF log events.
      metrics_collected: {
        prometheus: {
          log_group_name: appLogGroupName(environment, METRICS_LOG_STREAM),
          prometheus_config_path: PROMETHEUS_CONFIG,
          emf_processor: {
            metric_namespace: metricsNamespace(environment),
            metric_declaration_dedup: true,
            // One series per job (summed over instances by CloudWatch), not one per instance and label set.
            metric_declaration: Object.entries(SCRAPED_METRICS).flatMap(([job, names]) => {
              const declaration = (selected: readonly string[], labels: string[]) => ({
                source_labels: ['job'],
                label_matcher: `^${job}$`,
                dimensions: [['job', ...labels]],
                metric_selectors: selected.map((name) => `^${name}$`),
              });
              const labelled = names.filter((name) => METRIC_LABELS[name]);
              return [
                declaration(
                  names.filter((name) => !METRIC_LABELS[name]),
                  [],
                ),
                ...labelled.map((name) => declaration([name], METRIC_LABELS[name] ?? [])),
              ];
            }),
          },
        },
      },
    },
  };
}

/** The agent's Prometheus scrape config: every process's local endpoint, keeping only SCRAPED_METRICS. */
export function prometheusConfig(): string {
  const job = (name: keyof typeof SCRAPED_METRICS, targets: string[]) => [
    `  - job_name: ${name}`,
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]`,
    '    metric_relabel_configs:',
    '      - source_labels: [__name__]',
    `        regex: '${SCRAPED_METRICS[name].join('|')}'`,
    '        action: keep',
  ];
  return [
    'global:',
    `  scrape_interval: ${SCRAPE_SECONDS}s`,
    '  scrape_timeout: 10s',
    'scrape_configs:',
    ...job('cyphr-api', metricsTargets('api')),
    ...job('cyphr-worker', metricsTargets('worker')),
    '',
  ].join('\n');
}

/**
 * systemd holds the log files open (StandardOutput=append:), so rotation copies and truncates; the agent
 * follows truncation. Local copies are a buffer only: CloudWatch keeps the history.
 */
export function logrotateConfig(): string {
  return [
    `${APP_LOG_DIR}/*.log {`,
    '  daily',
    '  maxsize 100M',
    '  rotate 2',
    '  compress',
    '  missingok',
    '  notifempty',
    '  copytruncate',
    '}',
    '',
  ].join('\n');
}
