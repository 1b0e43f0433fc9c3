// Terraform JSON documents the renderer's specs and the ephemeral plan test share.

// What the database and secrets constructs write through escape hatches: a password made during the run
// by an ephemeral resource, handed to write-only arguments, so it is in neither the plan nor the state.
export const EPHEMERAL_FIXTURE = {
  ephemeral: {
    aws_secretsmanager_random_password: {
      db_master: { password_length: 40, exclude_punctuation: true },
    },
  },
  resource: {
    aws_db_instance: {
      database_primary: {
        '//': { metadata: { path: 'test/database/primary' } },
        identifier: 'db',
        engine: 'postgres',
        instance_class: 'db.t4g.micro',
        allocated_storage: 20,
        username: 'cyphr_admin',
        password_wo: '${ephemeral.aws_secretsmanager_random_password.db_master.random_password}',
        password_wo_version: 1,
        skip_final_snapshot: true,
      },
    },
    aws_secretsmanager_secret: {
      database_master_secret: {
        '//': { metadata: { path: 'test/database/master-secret/secret' } },
        name: 'cyphr-test/db-master',
        recovery_window_in_days: 0,
      },
    },
    aws_secretsmanager_secret_version: {
      database_master_secret_value: {
        '//': { metadata: { path: 'test/database/master-secret/value' } },
        secret_id: '${aws_secretsmanager_secret.database_master_secret.id}',
        secret_string_wo:
          '${jsonencode({username = "cyphr_admin", password = ephemeral.aws_secretsmanager_random_password.db_master.random_password})}',
        secret_string_wo_version: 1,
      },
    },
  },
};
