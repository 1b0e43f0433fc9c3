import { SQSClient, SQSClientConfig } from '@aws-sdk/client-sqs';
import { LeanSqsClient } from './lean-sqs-client';
import type { SharedSettings } from '../config/environment';

/**
 * What every SQS client of ours shares. `md5: false`: the SDK would otherwise hash every body it sends and
 * receives to compare with the MD5 SQS returns, a check against corruption in transit that TLS (HTTPS, with its
 * own integrity check) already makes, and SigV4 signs each request's body on top. What a body holds is checked
 * anyway: a queue body is parsed and validated before it is used (a malformed one goes to the DLQ), and a
 * message's ciphertext is authenticated by the recipient's client. The hashes cost about 0.04 ms of CPU per
 * 10-message call, on every send, receive and delete batch of the API and the worker.
 */
const COMMON: SQSClientConfig = { md5: false };

/**
 * SQS client for the configured region: a LeanSqsClient, so the calls made per message skip the SDK's
 * middleware. With SQS_ENDPOINT set (a local SQS-compatible server) it uses throwaway static credentials so a
 * developer's real AWS credentials are never sent anywhere local. On AWS the default provider chain picks up
 * the instance role.
 */
export function createSqsClient(env: Pick<SharedSettings, 'AWS_REGION' | 'SQS_ENDPOINT'>): SQSClient {
  if (env.SQS_ENDPOINT) {
    return new LeanSqsClient({
      ...COMMON,
      region: env.AWS_REGION,
      endpoint: env.SQS_ENDPOINT,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }
  return new LeanSqsClient({ ...COMMON, region: env.AWS_REGION });
}
