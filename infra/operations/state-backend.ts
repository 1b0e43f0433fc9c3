// Remote state: an S3 backend per environment with Terraform's native S3 lock file (1.10+, no
// DynamoDB table). Local state stays the default so a first try needs no bucket.
import { S3Backend, TerraformStack } from 'cdktf';
import type { StateBackendConfig } from '../config/environments';

export function stateKey(stack: TerraformStack, config: StateBackendConfig): string {
  return config.key ?? `cyphr/${stack.node.id}.tfstate`;
}

/** Points the stack at its S3 state with a lock file; without config the stack keeps cdktf's local backend. */
export function configureStateBackend(stack: TerraformStack, config?: StateBackendConfig): S3Backend | undefined {
  if (!config) return undefined;
  const backend = new S3Backend(stack, {
    bucket: config.bucket,
    key: stateKey(stack, config),
    region: config.region,
    encrypt: true,
    kmsKeyId: config.kmsKeyId,
  });
  // cdktf 0.21's S3BackendConfig predates `use_lockfile`.
  backend.addOverride('use_lockfile', true);
  return backend;
}
