import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyListenOptions } from 'fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { validateEnvironment } from '../common/config/environment';
import { loadLocalEnvFile } from '../common/config/local-env-file';
import { resolveSecrets } from '../common/config/secrets';
import { AppModule } from './app.module';
import { ApiSettings } from './config/api-settings';
import { buildServerConfig, ServerConfig, ServerConfigOverrides } from './config/server-config';
import { useJsonBodies } from './http/body-parsing';
import { compileTrustProxy, createFastifyAdapter } from './http/fastify-adapter';
import { GracefulDrain } from './http/graceful-drain';
import { requestLog } from './http/request-log';
import { openApiDocument } from './http/openapi';
import { ContractDocuments } from './contract/contract.controller';
import { DEVICE_MESSAGES_PATH } from './mailbox/mailbox.controller';
import { MessageQueueService } from './infrastructure/message-queue.service';
import { useHttpMetrics } from './metrics/http-metrics';
import { listenForMetrics } from './metrics/metrics-listener';
import { MetricsService } from './metrics/metrics.service';
import { RealtimeGateway } from './realtime/realtime.gateway';
import { API_KEEP_ALIVE_TIMEOUT_MS } from '../common/operations/timeouts';

export interface ServerAppOptions extends ServerConfigOverrides {
  /** Environment values that win over process.env (tests: another database URL, Redis through a proxy...). */
  env?: Record<string, string | undefined>;
}

export interface ServerApp {
  app: NestFastifyApplication;
  config: ServerConfig;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Graceful, bounded: see shutdown() below. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Builds and starts one API instance: validated config (a bad or missing variable stops here, naming it),
 * JSON body limits, metrics, OpenAPI, the WebSocket endpoint, then listen. Tests start several in one process
 * on port 0; main.ts starts one and wires SIGTERM to `shutdown`.
 */
export async function createServerApp(options: ServerAppOptions = {}): Promise<ServerApp> {
  const { env: envOverrides, ...overrides } = options;
  loadLocalEnvFile();
  const env = validateEnvironment(ApiSettings, { ...process.env, ...envOverrides });
  const secrets = await resolveSecrets(env);
  const config = buildServerConfig(env, secrets, overrides);
  const trust = compileTrustProxy(config.trustProxy);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config),
    createFastifyAdapter({ trustProxy: trust, bodyLimitBytes: config.bodyLimitBytes }),
    { bodyParser: false, bufferLogs: true, abortOnError: false },
  );
  app.useLogger(app.get(Logger));
  const server = app.getHttpServer() as Server;
  const drain = new GracefulDrain(server, config.drainLameDuckMs);
  const fastify = app.getHttpAdapter().getInstance();
  // Hooks run in this order: metrics time everything, then every request is logged (when worth it), then the
  // lame duck and the 415 may answer before routing.
  useHttpMetrics(fastify, app.get(MetricsService));
  const log = requestLog(PinoLogger.root);
  fastify.addHook('onRequest', (request, reply, done) => {
    log(reply.raw, request.id);
    done();
  });
  fastify.addHook('onRequest', drain.onRequest);
  useJsonBodies(fastify, { path: DEVICE_MESSAGES_PATH, limitBytes: config.deviceMessagesBodyLimitBytes });
  app.get(ContractDocuments).openApi = openApiDocument(app);

  // Longer than the ALB's idle timeout, so the ALB closes an idle connection first (never a 502 on reuse).
  server.keepAliveTimeout = API_KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = API_KEEP_ALIVE_TIMEOUT_MS + 1_000;
  const gateway = app.get(RealtimeGateway);
  gateway.attach(server, trust);
  // With reusePort several processes share the port (Node 22.12+ on Linux; older Node ignores the option).
  // Fastify hands these options to Node's server.listen as they are.
  await app.listen({ port: config.port, host: config.host, reusePort: config.reusePort } as FastifyListenOptions);
  return started(app, config, server, drain, gateway);
}

async function started(
  app: NestFastifyApplication,
  config: ServerConfig,
  server: Server,
  drain: GracefulDrain,
  gateway: RealtimeGateway,
): Promise<ServerApp> {
  const port = (server.address() as AddressInfo).port;
  const metricsListener = config.metricsPort
    ? (await listenForMetrics(app.get(MetricsService), config.metricsPort)).server
    : undefined;

  let shuttingDown: Promise<void> | undefined;
  /**
   * 1. stop accepting connections and tell WebSocket clients to reconnect elsewhere (1012);
   * 2. let in-flight requests finish (see GracefulDrain; all connections are cut at the deadline);
   * 3. flush the SQS batcher: every 202 already given is durable, every pending send gets its answer;
   * 4. close Nest (Redis, database pools).
   */
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      const drained = drain.drain(deadline - 2_000);
      await gateway.close(Math.min(1_000, config.shutdownTimeoutMs / 4));
      await drained;
      await app.get(MessageQueueService).flush();
      await new Promise((resolve) => (metricsListener ? metricsListener.close(resolve) : resolve(undefined)));
      await app.close();
    })());

  return { app, config, port, url: `http://127.0.0.1:${port}`, shutdown };
}
