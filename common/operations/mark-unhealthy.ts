// Run by cyphr-unhealthy@.service when a Cyphr unit has failed for good (its start limit is hit): marks
// this instance Unhealthy in its Auto Scaling group, without waiting for the grace period, so the group
// replaces it. The worker group has no load balancer check that would notice a dead process, and a
// restart loop on the API would otherwise only be seen by the ALB.
//
//   node mark-unhealthy.js <unit that failed>
//
// The instance id comes from the instance metadata service (IMDSv2, token first); the credentials from the
// instance role through the SDK's default chain; the role may set the health of its own group only.
import { AutoScalingClient, SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';

const DEFAULT_METADATA_ENDPOINT = 'http://169.254.169.254';
const TIMEOUT_MS = 5_000;

export interface MarkUnhealthyOptions {
  /** IMDS base URL. @default $AWS_EC2_METADATA_SERVICE_ENDPOINT (the SDK's own setting), else 169.254.169.254 */
  metadataEndpoint?: string;
  /** @default a client from the environment (region from AWS_REGION, credentials from the instance role) */
  client?: AutoScalingClient;
}

/** This instance's id, read with an IMDSv2 session token (the launch templates require tokens). */
export async function instanceId(metadataEndpoint: string): Promise<string> {
  const base = metadataEndpoint.replace(/\/+$/, '');
  const tokenResponse = await fetch(`${base}/latest/api/token`, {
    method: 'PUT',
    headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!tokenResponse.ok) throw new Error(`IMDS token: HTTP ${tokenResponse.status}`);
  const token = await tokenResponse.text();
  const idResponse = await fetch(`${base}/latest/meta-data/instance-id`, {
    headers: { 'x-aws-ec2-metadata-token': token },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!idResponse.ok) throw new Error(`IMDS instance-id: HTTP ${idResponse.status}`);
  const id = (await idResponse.text()).trim();
  if (!/^i-[0-9a-f]+$/.test(id)) throw new Error(`IMDS returned an unexpected instance id: ${id}`);
  return id;
}

/** Marks this instance Unhealthy (not respecting the grace period) and returns its id. */
export async function markUnhealthy(options: MarkUnhealthyOptions = {}): Promise<string> {
  const endpoint =
    options.metadataEndpoint ?? process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? DEFAULT_METADATA_ENDPOINT;
  const id = await instanceId(endpoint);
  const client = options.client ?? new AutoScalingClient({});
  await client.send(
    new SetInstanceHealthCommand({ InstanceId: id, HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false }),
  );
  return id;
}

async function main(): Promise<void> {
  const unit = process.argv[2] ?? 'a Cyphr unit';
  try {
    const id = await markUnhealthy();
    console.log(JSON.stringify({ level: 'warn', msg: `${unit} failed: marked ${id} unhealthy for replacement` }));
  } catch (error) {
    console.error(
      JSON.stringify({ level: 'error', msg: `${unit} failed; marking unhealthy failed`, error: String(error) }),
    );
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
