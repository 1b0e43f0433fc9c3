import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { hostname } from 'node:os';
import { AuthGuard } from './auth/auth.guard';
import { AuthModule } from './auth/auth.module';
import { ServerConfig } from './config/server-config';
import { ContractController, ContractDocuments } from './contract/contract.controller';
import { ConversationsModule } from './conversations/conversations.module';
import { HealthModule } from './health/health.module';
import { AllExceptionsFilter } from './http/all-exceptions.filter';
import { LOG_REDACT_PATHS } from './http/logging';
import { StrictValidationPipe } from './http/validation.pipe';
import { InfrastructureModule } from './infrastructure/infrastructure.module';
import { KeysModule } from './keys/keys.module';
import { MailboxModule } from './mailbox/mailbox.module';
import { MessagesModule } from './messages/messages.module';
import { MetricsController } from './metrics/metrics.controller';
import { RealtimeModule } from './realtime/realtime.module';
import { SyncModule } from './sync/sync.module';
import { UsersModule } from './users/users.module';

/** Makes the validated ServerConfig injectable everywhere. */
@Global()
@Module({})
class ServerConfigModule {
  static register(config: ServerConfig): DynamicModule {
    return {
      module: ServerConfigModule,
      providers: [{ provide: ServerConfig, useValue: config }],
      exports: [ServerConfig],
    };
  }
}

/** Logs go to stdout, or to `config.logStream` (tests read what was logged). */
function withLogStream<T>(config: ServerConfig, options: T): T | [T, NodeJS.WritableStream] {
  return config.logStream ? [options, config.logStream] : options;
}

/** The API, built around one already-validated config (see createServerApp). */
@Module({})
export class AppModule {
  static register(config: ServerConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServerConfigModule.register(config),
        // The typed config is also readable as ConfigService.get('server') for code that prefers @nestjs/config.
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => ({ server: config })] }),
        LoggerModule.forRoot({
          pinoHttp: withLogStream(config, {
            level: config.logLevel,
            base: { pid: process.pid, hostname: hostname(), instance: config.instanceId },
            redact: LOG_REDACT_PATHS,
          }),
          // No per-request middleware (child logger, AsyncLocalStorage): requestLog (bootstrap) logs requests.
          forRoutes: [],
        }),
        TypeOrmModule.forRoot({ ...config.database, retryAttempts: 3, retryDelay: 1_000 }),
        InfrastructureModule,
        AuthModule,
        UsersModule,
        KeysModule,
        ConversationsModule,
        MessagesModule,
        SyncModule,
        MailboxModule,
        RealtimeModule,
        HealthModule,
      ],
      controllers: [MetricsController, ContractController],
      providers: [
        ContractDocuments,
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useClass: StrictValidationPipe },
        // Rate limits and authentication in one guard: all of a request's counters in one Redis round trip.
        { provide: APP_GUARD, useExisting: AuthGuard },
      ],
    };
  }
}
