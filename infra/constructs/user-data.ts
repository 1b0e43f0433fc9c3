// User data: writes the role's non-secret settings file and starts the role's processes, one instance of the
// role's systemd template unit per process (the units come with the AMI). Secrets are referenced by ARN only;
// processes fetch them at start.
import type { SharedSettings } from '../../common/config/environment';
import type { MigrateSettings } from '../../common/config/migrate-settings';
import type { ApiSettings } from '../../server/config/api-settings';
import type { WorkerSettings } from '../../worker/config/worker-environment';

export type AppRole = 'api' | 'worker';

/**
 * An env file for a process that validates with `T`: only T's variable names (a misspelt one fails tsc),
 * every one of `Required` present. Values are strings because user data writes text and Terraform
 * references render as `${...}`. Which optional ones a process needs (DATABASE_USER with DATABASE_AUTH=iam...)
 * only the validator knows; infra/user-data.spec.ts runs it on every synthesized file.
 */
export type RoleSettings<T, Required extends keyof T = never> = { [K in keyof T]?: string } & {
  [K in Required]: string;
};

/** What the AWS path must always say: no defaults stand in for the database, Redis, the queues or the users. */
type AwsRequired =
  | 'AWS_REGION'
  | 'DATABASE_HOST'
  | 'DATABASE_NAME'
  | 'DATABASE_SSL'
  | 'DATABASE_CA_FILE'
  | 'DATABASE_AUTH'
  | 'DATABASE_USER'
  | 'REDIS_URL'
  | 'REDIS_AUTH'
  | 'REDIS_USER'
  | 'REDIS_IAM_CACHE_NAME'
  | 'SQS_MESSAGES_QUEUE_URL'
  | 'SQS_NOTIFICATIONS_QUEUE_URL';

/**
 * Set per process by the role's systemd template unit (`Environment=`, from the instance number). An env file must
 * not hold them: systemd lets `EnvironmentFile=` override `Environment=`, so every process of an instance would get
 * the file's one metrics port (all but one then fail to listen) or lose the shared API port.
 */
export const UNIT_SETTINGS = {
  api: ['REUSE_PORT', 'METRICS_PORT'],
  worker: ['WORKER_METRICS_PORT'],
} as const satisfies Record<AppRole, readonly string[]>;

type UnitSettings<R extends AppRole> = (typeof UNIT_SETTINGS)[R][number];

/** The settings both roles' files hold (each adds its own database and Redis user). */
export type SharedEnvFile = RoleSettings<SharedSettings>;

/** The api's env file: validated by ApiSettings. */
export type ApiEnvFile = RoleSettings<
  Omit<ApiSettings, UnitSettings<'api'>>,
  AwsRequired | 'PORT' | 'JWT_SECRET_ARN' | 'TRUST_PROXY'
>;

/**
 * The worker's env file: validated by WorkerSettings, and by MigrateSettings since the migration runs on worker
 * instances before the worker (only the worker's instance role may read the master secret).
 */
export type WorkerEnvFile = RoleSettings<
  Omit<WorkerSettings & MigrateSettings, UnitSettings<'worker'>>,
  AwsRequired | 'DATABASE_MIGRATION_USER' | 'DATABASE_MASTER_SECRET_ARN' | 'WORKER_VISIBILITY_TIMEOUT_SECONDS'
>;

export interface RoleEnvFiles {
  api: ApiEnvFile;
  worker: WorkerEnvFile;
}

/** Either role's env file. */
export type AppSettings = RoleEnvFiles[AppRole];

/** Where user data writes the env file; packaging/systemd's units read it. */
export const ENV_FILE_PATH = '/etc/cyphr/cyphr.env';
/** The here-document delimiter around the env file in the script. */
export const ENV_FILE_END = 'CYPHR_ENV';

const SAFE_VALUE = /^[^\n'"`\\$]*$/;

export function envFile(settings: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(settings)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => {
      if (!/^[A-Z][A-Z0-9_]*$/.test(key)) throw new Error(`bad environment variable name ${key}`);
      // Tokens render as ${...} for Terraform to fill in; literal values must not need quoting.
      if (!value.includes('${') && !SAFE_VALUE.test(value)) throw new Error(`value of ${key} needs quoting: ${value}`);
      return `${key}=${value}`;
    })
    .join('\n');
}

/** The units user data starts: cyphr-<role>@0.service ... one per process (infra/config/processes.ts). */
export function roleUnits(role: AppRole, processes: number): string[] {
  if (!Number.isInteger(processes) || processes < 1) throw new Error(`${role}: ${processes} processes per instance`);
  return Array.from({ length: processes }, (_, index) => `cyphr-${role}@${index}.service`);
}

/** A bash script; the caller base64-encodes it for the launch template. */
export function userDataScript<R extends AppRole>(role: R, settings: RoleEnvFiles[R], processes = 1): string {
  // The types already leave these out; this catches a setting spread in from an untyped source.
  const written: Readonly<Record<string, string | undefined>> = settings;
  const unitOwned = UNIT_SETTINGS[role].filter((name) => written[name] !== undefined);
  if (unitOwned.length > 0)
    throw new Error(`${role}: ${unitOwned.join(', ')} set per process by cyphr-${role}@.service, not in the env file`);
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'install -d -m 0755 /etc/cyphr',
    `cat > ${ENV_FILE_PATH} <<'${ENV_FILE_END}'`,
    envFile({ ...settings, CYPHR_ROLE: role }),
    ENV_FILE_END,
    `chmod 0644 ${ENV_FILE_PATH}`,
    'systemctl daemon-reload',
    `systemctl enable --now ${roleUnits(role, processes).join(' ')}`,
    '',
  ].join('\n');
}
