// Which local endpoint stands in for each kind of Terraform reference in a role's env file. Resources are
// recognised by what they are (a replica has replicate_source_db; a queue or secret by its name), not by their
// Terraform address, so renaming an address does not change what the test runs against.
import type { Reference, ReferenceResolver } from './synthesized-env';

export interface HostPort {
  host: string;
  port: number;
}

export interface LocalEndpoints {
  /** The local PostgreSQL primary, standing in for the RDS primary. */
  primary: HostPort;
  /** The local streaming replica, standing in for every RDS read replica. */
  replica: HostPort;
  /** The database on the local cluster standing in for the instance's `db_name`. */
  database: string;
  /** The ElastiCache stand-in (TLS, IAM users) in front of the local Redis. */
  redis: HostPort;
  /** The stack's queue name → the URL of the queue created for this run on the local SQS server. */
  queues: Map<string, string>;
  /** The stack's secret name → the ARN of the secret created for this run in the Secrets Manager stand-in. */
  secrets: Map<string, string>;
}

function endpointAttribute(endpoint: HostPort, attribute: string): string | undefined {
  if (attribute === 'address' || attribute === 'primary_endpoint_address') return endpoint.host;
  if (attribute === 'configuration_endpoint_address') return endpoint.host;
  if (attribute === 'port') return String(endpoint.port);
  if (attribute === 'endpoint') return `${endpoint.host}:${endpoint.port}`;
  return undefined;
}

/** Resolves references to the stand-ins; anything else stays unmapped so the test fails naming it. */
export function localResolver(local: LocalEndpoints): ReferenceResolver {
  const byName = (map: Map<string, string>, ref: Reference) => map.get(String(ref.resource.name));
  const rules: Record<string, (ref: Reference) => string | undefined> = {
    aws_db_instance: (ref) =>
      ref.attribute === 'db_name'
        ? local.database
        : endpointAttribute(ref.resource.replicate_source_db ? local.replica : local.primary, ref.attribute),
    aws_elasticache_replication_group: (ref) => endpointAttribute(local.redis, ref.attribute),
    aws_sqs_queue: (ref) => (ref.attribute === 'url' ? byName(local.queues, ref) : undefined),
    aws_secretsmanager_secret: (ref) => (ref.attribute === 'arn' ? byName(local.secrets, ref) : undefined),
  };
  return (ref) => rules[ref.type]?.(ref);
}
