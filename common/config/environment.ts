import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  Min,
  ValidateIf,
  validateSync,
  ValidationError,
} from 'class-validator';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);
const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));

/**
 * What every process that talks to PostgreSQL reads: the database, the region (Secrets Manager, IAM token
 * signing) and the log level. The role classes extend it: ApiSettings (server/config/api-settings.ts),
 * WorkerSettings (worker/config/worker-environment.ts) and MigrateSettings (common/config/migrate-settings.ts).
 * Locally the values come from `.local/services.env` (written by `npm run services:up`); on AWS from the
 * role's env file that user data writes (typed per role in infra/constructs/user-data.ts), with secrets
 * fetched by ARN (see secrets.ts). Credentials have no defaults.
 */
export class DatabaseSettings {
  /** Primary PostgreSQL, as a URL with credentials (local runs). Either this or DATABASE_HOST (with DATABASE_AUTH). */
  @Transform(emptyToUndefined)
  @ValidateIf((env: DatabaseSettings) => !env.DATABASE_HOST)
  @IsNotEmpty({ message: 'DATABASE_URL is required (or DATABASE_HOST)' })
  @IsUrl(
    { protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true },
    { message: 'DATABASE_URL must be a postgres:// URL' },
  )
  DATABASE_URL?: string;

  /** Comma-separated replica URLs; empty means reads use the primary. */
  @IsOptional()
  @IsString()
  DATABASE_REPLICA_URLS?: string;

  /** On AWS: primary host name; the process logs in as DATABASE_USER the DATABASE_AUTH way. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  DATABASE_HOST?: string;

  /** On AWS: comma-separated replica endpoints, `host` or `host:port` (the port defaults to DATABASE_PORT). */
  @IsOptional()
  @IsString()
  DATABASE_REPLICA_HOSTS?: string;

  /** On AWS with DATABASE_AUTH=password (break-glass only): a secret holding {username, password}. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: DatabaseSettings) => !!env.DATABASE_HOST && env.DATABASE_AUTH === 'password')
  @IsNotEmpty({ message: 'DATABASE_SECRET_ARN is required when DATABASE_HOST is set and DATABASE_AUTH=password' })
  DATABASE_SECRET_ARN?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  DATABASE_PORT: number = 5432;

  /**
   * How a process proves who it is to PostgreSQL on DATABASE_HOST: `iam` signs a 15-minute RDS IAM token
   * for DATABASE_USER per new connection (the AWS path); `password` reads DATABASE_SECRET_ARN.
   * @default password
   */
  @IsOptional()
  @IsIn(['password', 'iam'])
  DATABASE_AUTH: 'password' | 'iam' = 'password';

  /** The process's own least-privilege database role (cyphr_api, cyphr_worker); required with DATABASE_AUTH=iam. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: DatabaseSettings) => env.DATABASE_AUTH === 'iam')
  @IsNotEmpty({ message: 'DATABASE_USER is required when DATABASE_AUTH=iam' })
  @IsString()
  DATABASE_USER?: string;

  /**
   * PEM bundle of the CAs PostgreSQL's certificate must chain to (verify-full). The bundle ships the RDS CAs;
   * user data points here at them. @default the RDS CA bundle shipped with the application
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  DATABASE_CA_FILE?: string;

  @IsOptional()
  @IsString()
  DATABASE_NAME: string = 'cyphr';

  /** Require TLS to PostgreSQL (RDS: on). */
  @IsOptional()
  @IsIn(['true', 'false'])
  DATABASE_SSL: 'true' | 'false' = 'false';

  @IsNotEmpty({ message: 'AWS_REGION is required' })
  @IsString()
  AWS_REGION: string;

  @IsOptional()
  @IsIn(LOG_LEVELS as unknown as string[])
  LOG_LEVEL: LogLevel = 'info';
}

/** The settings the API and the worker share: the database plus Redis and the queues. */
export class SharedSettings extends DatabaseSettings {
  /** Redis, redis:// or rediss:// (TLS, as ElastiCache in-transit encryption requires). */
  @IsNotEmpty({ message: 'REDIS_URL is required' })
  @IsUrl(
    { protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true },
    { message: 'REDIS_URL must be a redis:// or rediss:// URL' },
  )
  REDIS_URL: string;

  /**
   * `true`: REDIS_URL is a Redis Cluster (ElastiCache cluster mode: the configuration endpoint) and the
   * apps use a cluster client with sharded pub/sub; infra sets it for tiers with several shards.
   * @default false (one Redis node, or a primary with replicas)
   */
  @IsOptional()
  @IsIn(['true', 'false'])
  REDIS_CLUSTER: 'true' | 'false' = 'false';

  /** A password from a secret (REDIS_AUTH=password): the ElastiCache auth token's secret. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  REDIS_AUTH_SECRET_ARN?: string;

  /**
   * `iam`: ElastiCache IAM authentication, the process signs a 15-minute token for REDIS_USER (the AWS path);
   * `password`: the URL's credentials or REDIS_AUTH_SECRET_ARN. @default password
   */
  @IsOptional()
  @IsIn(['password', 'iam'])
  REDIS_AUTH: 'password' | 'iam' = 'password';

  /** ElastiCache user id the process authenticates as (cyphr-<env>-api, cyphr-<env>-worker); required with REDIS_AUTH=iam. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: SharedSettings) => env.REDIS_AUTH === 'iam')
  @IsNotEmpty({ message: 'REDIS_USER is required when REDIS_AUTH=iam' })
  @IsString()
  REDIS_USER?: string;

  /** The replication group id the IAM token is signed for; required with REDIS_AUTH=iam. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: SharedSettings) => env.REDIS_AUTH === 'iam')
  @IsNotEmpty({ message: 'REDIS_IAM_CACHE_NAME is required when REDIS_AUTH=iam' })
  @IsString()
  REDIS_IAM_CACHE_NAME?: string;

  /** SQS endpoint override for a local SQS-compatible server; empty on AWS. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_tld: false, require_protocol: true },
    { message: 'SQS_ENDPOINT must be an http(s) URL' },
  )
  SQS_ENDPOINT?: string;

  @IsNotEmpty({ message: 'SQS_MESSAGES_QUEUE_URL is required' })
  @IsUrl(
    { protocols: ['http', 'https'], require_tld: false, require_protocol: true },
    { message: 'SQS_MESSAGES_QUEUE_URL must be an http(s) URL' },
  )
  SQS_MESSAGES_QUEUE_URL: string;

  @IsNotEmpty({ message: 'SQS_NOTIFICATIONS_QUEUE_URL is required' })
  @IsUrl(
    { protocols: ['http', 'https'], require_tld: false, require_protocol: true },
    { message: 'SQS_NOTIFICATIONS_QUEUE_URL must be an http(s) URL' },
  )
  SQS_NOTIFICATIONS_QUEUE_URL: string;
}

/** Thrown at start-up; its message names every bad variable. */
export class EnvironmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EnvironmentError';
  }
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((text) =>
      text.startsWith(error.property) ? text : `${error.property}: ${text}`,
    ),
  );
}

/** Validates a raw environment into a typed object of `type`, collecting every problem before failing. */
export function validateEnvironment<T extends object>(type: new () => T, raw: Record<string, unknown>): T {
  const env = plainToInstance(type, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, skipMissingProperties: false });
  const problems = flatten(errors);
  if (problems.length > 0) throw new EnvironmentError(problems);
  return env;
}

/** Splits a comma-separated list, dropping blanks. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
