import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min, MinLength, ValidateIf } from 'class-validator';
import { SharedSettings } from '../../common/config/environment';

const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);
const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));

/**
 * The API's settings: the shared ones plus its port, its JWT signing keys and its proxy trust. Validated
 * once at start-up (createServerApp), then turned into ServerConfig; nothing else in server/ reads process.env.
 * The stack writes exactly these for the api role (infra/constructs/user-data.ts) and a synth spec validates
 * that file with this class.
 */
export class ApiSettings extends SharedSettings {
  /** HTTP port of the API. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT: number = 3001;

  /**
   * `true`: listen with SO_REUSEPORT (Node 22.12+ on Linux), so several API processes on one instance share PORT and
   * the kernel spreads connections over them (systemd runs one per vCPU: cyphr-api@<n>). Elsewhere it is ignored.
   */
  @IsOptional()
  @IsIn(['true', 'false'])
  REUSE_PORT: 'true' | 'false' = 'false';

  /**
   * A loopback-only listener serving this process's GET /metrics: with processes sharing PORT a scrape of
   * PORT/metrics reaches any one of them, so each gets its own (the unit sets 948<n>). 0: only PORT/metrics.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT: number = 0;

  /** Local runs: the JWT signing key itself (at least 32 characters). On AWS use JWT_SECRET_ARN. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: ApiSettings) => !env.JWT_SECRET_ARN || env.JWT_SECRET !== undefined)
  @IsNotEmpty({ message: 'JWT_SECRET (or JWT_SECRET_ARN) is required' })
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  /**
   * On AWS: the secret holding the signing keyring, JSON `{"keys":[{"kid","secret"}]}` (first signs, every key
   * verifies), re-read every JWT_KEYS_REFRESH_SECONDS and on an unknown key id.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_SECRET_ARN?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  JWT_KEYS_REFRESH_SECONDS: number = 300;

  /**
   * Which proxies' X-Forwarded-For to believe for the client address (rate limits, logs), in `trust proxy`
   * syntax (Fastify's and Express's): a hop count (`2` behind CloudFront → ALB) or address ranges.
   * @default loopback, linklocal, uniquelocal (an ALB or local proxy in private address space)
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  TRUST_PROXY?: string;

  /** Rate limit overrides, `name=limit/windowSeconds,...` (server/rate-limits/rate-limit-rules.ts). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  RATE_LIMITS?: string;

  /**
   * WebSocket limit overrides, `name=value,...`, e.g. `maxSocketsPerUser=20,maxBufferedBytes=262144`
   * (server/config/server-config.ts, RealtimeLimits).
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  REALTIME_LIMITS?: string;

  /**
   * `delivered` events to a sender's devices when a device acknowledges or fetches their conversation messages.
   * `off` saves the lookups and publishes (each API instance batches them) where senders need no such signal.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['on', 'off'], { message: 'DELIVERY_RECEIPTS must be on or off' })
  DELIVERY_RECEIPTS: 'on' | 'off' = 'on';
}
