import { Transform } from 'class-transformer';
import { IsNotEmpty, IsString, ValidateIf } from 'class-validator';
import { DatabaseSettings } from './environment';

const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/**
 * What the migration reads. It runs on worker instances before the worker starts (cyphr-migrate.service) and
 * validates the WORKER's env file: the owner role and the master secret are granted to the worker's instance
 * role only, so the API's env file never carries them. Redis, the queues and the JWT key are not its business.
 */
export class MigrateSettings extends DatabaseSettings {
  /** The schema owner role the migration logs in as (IAM); required with DATABASE_AUTH=iam. */
  @Transform(emptyToUndefined)
  @ValidateIf((env: MigrateSettings) => env.DATABASE_AUTH === 'iam')
  @IsNotEmpty({ message: 'DATABASE_MIGRATION_USER is required when DATABASE_AUTH=iam' })
  @IsString()
  DATABASE_MIGRATION_USER?: string;

  /**
   * The RDS master credentials' secret ({username, password}), read only to create the IAM roles on a database
   * that does not have them yet; no long-running process uses it. Required with DATABASE_AUTH=iam, since a new
   * database has no IAM roles until the migration creates them.
   */
  @Transform(emptyToUndefined)
  @ValidateIf((env: MigrateSettings) => env.DATABASE_AUTH === 'iam')
  @IsNotEmpty({ message: 'DATABASE_MASTER_SECRET_ARN is required when DATABASE_AUTH=iam' })
  @IsString()
  DATABASE_MASTER_SECRET_ARN?: string;
}
