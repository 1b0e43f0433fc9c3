import 'reflect-metadata';
import { validateEnvironment } from '../common/config/environment';
import { loadLocalEnvFile } from '../common/config/local-env-file';
import { WorkerSettings } from './config/worker-environment';
import { createLogger } from './observability/logger';
import { createWorker } from './worker';

/**
 * The worker process: consumes cyphr-messages and cyphr-notifications until SIGTERM (ASG scale-in,
 * instance refresh, systemd stop), then drains within WORKER_SHUTDOWN_TIMEOUT_MS and exits 0.
 * SIGKILL at any moment loses nothing: unacknowledged messages reappear after their visibility timeout.
 */
async function main(): Promise<void> {
  loadLocalEnvFile();
  const env = validateEnvironment(WorkerSettings, process.env);
  const logger = createLogger(env.LOG_LEVEL);
  const worker = await createWorker(env, logger);

  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info(
      { signal, timeoutMs: env.WORKER_SHUTDOWN_TIMEOUT_MS },
      'stopping: no new receives, draining in-flight batches',
    );
    // Should closing hang, do not outlive the drain bound by much: unfinished work is safe in SQS.
    setTimeout(() => {
      logger.error('shutdown did not complete in time; exiting');
      process.exit(1);
    }, env.WORKER_SHUTDOWN_TIMEOUT_MS + 5_000).unref();
    worker
      .stop()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    process.exit(1);
  });

  worker.start();
  logger.info({ metricsPort: worker.metricsPort, loops: env.WORKER_RECEIVE_LOOPS }, 'worker started');
}

main().catch((error: unknown) => {
  // Before the logger exists (bad configuration) plain stderr is all there is.
  console.error(`worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
