// Secrets Manager containers. Terraform creates the secret (name, KMS key, policy) but never its
// value: values are put after apply (infra/README.md, "Secrets"), so none is in config, state or user data.
import { Construct } from 'constructs';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { ServiceRole } from './iam';

export interface SecretProps {
  name: string;
  description: string;
  key: KmsKey;
  /** Days before a deleted secret is gone. @default 30 */
  recoveryWindowDays?: number;
}

export class Secret extends Construct {
  readonly secret: SecretsmanagerSecret;
  private readonly key: KmsKey;
  private readonly region: string;

  constructor(scope: Construct, id: string, props: SecretProps & { region: string }) {
    super(scope, id);
    this.key = props.key;
    this.region = props.region;
    this.secret = new SecretsmanagerSecret(this, 'secret', {
      name: props.name,
      description: props.description,
      kmsKeyId: props.key.arn,
      recoveryWindowInDays: props.recoveryWindowDays ?? 30,
    });
  }

  get arn(): string {
    return this.secret.arn;
  }

  grantRead(role: ServiceRole): void {
    const sid = this.node.id.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
    grantSecretRead(role, sid, this.arn, this.key.arn, this.region);
  }
}

/** Read one secret and decrypt it with its key, only through Secrets Manager. */
export function grantSecretRead(
  role: ServiceRole,
  sid: string,
  secretArn: string,
  keyArn: string,
  region: string,
): void {
  role.addToPolicy({
    sid: `Read${sid}Secret`,
    actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    resources: [secretArn],
  });
  role.addToPolicy({
    sid: `Decrypt${sid}Secret`,
    actions: ['kms:Decrypt'],
    resources: [keyArn],
    conditions: [
      { test: 'StringEquals', variable: 'kms:ViaService', values: [`secretsmanager.${region}.amazonaws.com`] },
    ],
  });
}

export interface AppSecretsProps {
  namePrefix: string;
  region: string;
  key: KmsKey;
  /** @default 30 */
  recoveryWindowDays?: number;
}

export class AppSecrets extends Construct {
  /** The API's JWT signing key. */
  readonly jwtSigningKey: Secret;
  /** ElastiCache AUTH token. */
  readonly redisAuthToken: Secret;

  constructor(scope: Construct, id: string, props: AppSecretsProps) {
    super(scope, id);
    const common = { key: props.key, region: props.region, recoveryWindowDays: props.recoveryWindowDays };
    this.jwtSigningKey = new Secret(this, 'jwt-signing-key', {
      ...common,
      name: `${props.namePrefix}/jwt-signing-key`,
      description: 'Cyphr API JWT signing key (value put after apply, never by Terraform)',
    });
    this.redisAuthToken = new Secret(this, 'redis-auth-token', {
      ...common,
      name: `${props.namePrefix}/redis-auth-token`,
      description: 'ElastiCache AUTH token (value put and applied to Redis after apply, never by Terraform)',
    });
  }
}
