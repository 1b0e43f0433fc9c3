import { SQSClient } from '@aws-sdk/client-sqs';
import type { SharedSettings } from '../config/environment';

/**
 * SQS client for the configured region. With SQS_ENDPOINT set (a local SQS-compatible server) it uses
 * throwaway static credentials so a developer's real AWS credentials are never sent anywhere local.
 * On AWS the default provider chain picks up the instance role.
 */
export function createSqsClient(env: Pick<SharedSettings, 'AWS_REGION' | 'SQS_ENDPOINT'>): SQSClient {
  if (env.SQS_ENDPOINT) {
    return new SQSClient({
      region: env.AWS_REGION,
      endpoint: env.SQS_ENDPOINT,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }
  return new SQSClient({ region: env.AWS_REGION });
}
