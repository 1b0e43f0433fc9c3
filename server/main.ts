import { EnvironmentError } from '../common/config/environment';
import { createServerApp } from './bootstrap';

/** `nest start` / `node build/server/main.js`: one API instance; SIGTERM (systemd, instance refresh) drains it. */
async function main(): Promise<void> {
  const server = await createServerApp();
  const stop = (signal: NodeJS.Signals) => {
    // Hard stop if draining overruns: systemd would SIGKILL anyway; exit on our own terms.
    setTimeout(() => {
      console.error(`server: shutdown after ${signal} exceeded ${server.config.shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, server.config.shutdownTimeoutMs).unref();
    server.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`server: shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(
    error instanceof EnvironmentError
      ? error.message
      : `server: start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exit(1);
});
