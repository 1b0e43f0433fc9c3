import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  Message,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  SQSClientConfig,
} from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentity } from '@smithy/types';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { LeanSqsClient } from '../aws/lean-sqs-client';

/**
 * LeanSqsClient against the local SQS server, through a stand-in for SQS's front door that checks every
 * request's SigV4 signature the way AWS does (written out from the spec, not with the SDK's signer) and can
 * answer with the faults AWS answers with: throttling, 5xx, a dropped connection, a skewed clock. Each behaviour
 * is compared with what the SDK's own client does for the same request.
 */
const sqsEndpoint = process.env.SQS_ENDPOINT!;
const REGION = 'us-east-1';
const CREDENTIALS: AwsCredentialIdentity = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session/token+with=chars',
};

type Fault = { status: number; body?: object; headers?: Record<string, string> } | 'drop';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** Header-based SigV4 verification from the AWS spec ("Create a signed AWS API request"); returns why not, or undefined. */
function signatureProblem(
  request: http.IncomingMessage,
  body: Buffer,
  secrets: Map<string, string>,
): string | undefined {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      String(request.headers.authorization),
    );
  if (!match) return 'no SigV4 authorization header';
  const [, keyId, day, region, service, signedHeaders, signature] = match;
  const secret = secrets.get(keyId);
  if (!secret) return `unknown access key ${keyId}`;
  if (region !== REGION || service !== 'sqs') return `scope ${region}/${service}`;
  const signed = signedHeaders.split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-target', 'content-type', 'x-amz-security-token']) {
    if (!signed.includes(required)) return `${required} is not signed`;
  }
  const amzDate = String(request.headers['x-amz-date']);
  if (!amzDate.startsWith(day)) return 'date and scope disagree';
  const canonicalHeaders = signed
    .map((name) => `${name}:${String(request.headers[name]).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [request.method, '/', '', canonicalHeaders, signedHeaders, sha256(body)].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    `${day}/${region}/sqs/aws4_request`,
    sha256(canonicalRequest),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 'sqs'), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex') === signature ? undefined : 'signature mismatch';
}

class SqsFrontDoor {
  readonly faults: Fault[] = [];
  readonly secrets = new Map([[CREDENTIALS.accessKeyId, CREDENTIALS.secretAccessKey]]);
  /** Per request: the operation, the x-amz-date it was signed at, and whether its signature held. */
  readonly seen: { target: string; amzDate: string; problem?: string; keyId?: string }[] = [];
  /** Answer requests signed for a time that far from now with RequestTimeTooSkewed, as SQS does past 5 minutes. */
  skewLimitMs?: number;
  serverTimeOffsetMs = 0;
  private server = http.createServer((request, response) => this.handle(request, response));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The queue's URL on this front door: the client sends to the queue URL's host, as the SDK does. */
  queueUrl(url: string): string {
    return url.replace(sqsEndpoint, this.url);
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const problem = signatureProblem(request, body, this.secrets);
      const amzDate = String(request.headers['x-amz-date']);
      const keyId = /Credential=([^/]+)/.exec(String(request.headers.authorization))?.[1];
      this.seen.push({ target: String(request.headers['x-amz-target']), amzDate, problem, keyId });
      const date = new Date(Date.now() + this.serverTimeOffsetMs).toUTCString();
      const answer = (status: number, json: object, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', date, ...headers });
        response.end(JSON.stringify(json));
      };
      if (problem) {
        return answer(403, { __type: 'com.amazonaws.sqs#SignatureDoesNotMatch', message: problem });
      }
      const signedAt = Date.parse(
        amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
      );
      if (
        this.skewLimitMs !== undefined &&
        Math.abs(signedAt - (Date.now() + this.serverTimeOffsetMs)) > this.skewLimitMs
      ) {
        return answer(400, { __type: 'com.amazonaws.sqs#RequestTimeTooSkewed', message: 'skewed' });
      }
      const fault = this.faults.shift();
      if (fault === 'drop') return request.socket.destroy();
      if (fault) return answer(fault.status, fault.body ?? {}, fault.headers);
      // The local server knows its queues by their own URLs: name them so on the way in.
      const forwarded = Buffer.from(body.toString().split(this.url).join(sqsEndpoint));
      const headers = {
        ...request.headers,
        host: new URL(sqsEndpoint).host,
        'content-length': String(forwarded.length),
      };
      const upstream = http.request(`${sqsEndpoint}/`, { method: 'POST', headers }, (reply) => {
        response.writeHead(reply.statusCode!, reply.headers);
        reply.pipe(response);
      });
      upstream.end(forwarded);
    });
  }
}

const config = (endpoint: string, extra: Partial<SQSClientConfig> = {}): SQSClientConfig => ({
  region: REGION,
  endpoint,
  credentials: CREDENTIALS,
  md5: false,
  ...extra,
});

/** What two receives of the same messages share: everything but the receipt handle. */
const comparable = (messages: Message[] | undefined) =>
  (messages ?? [])
    .map(({ ReceiptHandle, Attributes, ...rest }) => ({
      ...rest,
      receiptHandle: typeof ReceiptHandle,
      attributes: Object.keys(Attributes ?? {}).sort(),
    }))
    .sort((a, b) => a.Body!.localeCompare(b.Body!));

describe('LeanSqsClient', () => {
  const door = new SqsFrontDoor();
  let sdk: SQSClient;
  let lean: LeanSqsClient;
  let fifoUrl: string;
  let queueUrl: string;
  const created: string[] = [];

  beforeAll(async () => {
    await door.start();
    sdk = new SQSClient(config(door.url));
    lean = new LeanSqsClient(config(door.url));
    const name = `lean-${randomUUID().slice(0, 8)}`;
    for (const [QueueName, Attributes] of [
      [`${name}.fifo`, { FifoQueue: 'true' }],
      [name, {}],
    ] as const) {
      const { QueueUrl } = await sdk.send(new CreateQueueCommand({ QueueName, Attributes }));
      created.push(QueueUrl!);
    }
    [fifoUrl, queueUrl] = created.map((url) => door.queueUrl(url));
  });

  afterEach(() => {
    door.faults.length = 0;
    door.skewLimitMs = undefined;
    door.serverTimeOffsetMs = 0;
  });

  afterAll(async () => {
    for (const url of created) await sdk.send(new DeleteQueueCommand({ QueueUrl: door.queueUrl(url) }));
    lean.destroy();
    sdk.destroy();
    await door.stop();
  });

  const batch = (tag: string) =>
    [0, 1, 2].map((i) => ({
      Id: `m${i}`,
      MessageBody: `${tag} ${i} ✓ ünïcode`,
      // The local server hands out one message per group per receive.
      MessageGroupId: `${tag}-${i}`,
      MessageDeduplicationId: `${tag}-${i}`,
      MessageAttributes: {
        bytes: { DataType: 'Binary', BinaryValue: new Uint8Array([i, 0, 255]) },
        text: { DataType: 'String', StringValue: `t${i}` },
      },
    }));

  const receiveAll = (client: SQSClient, QueueUrl: string) =>
    client.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount', 'MessageGroupId'],
      }),
    );

  it('sends, receives, changes visibility and deletes as the SDK does, signed as AWS checks it', async () => {
    door.seen.length = 0;
    const sentLean = await lean.send(new SendMessageBatchCommand({ QueueUrl: fifoUrl, Entries: batch('lean') }));
    const sentSdk = await sdk.send(new SendMessageBatchCommand({ QueueUrl: fifoUrl, Entries: batch('sdk') }));
    const shape = (output: typeof sentLean) => ({
      Successful: output.Successful?.map((entry) => Object.keys(entry).sort()),
      Failed: output.Failed,
      status: output.$metadata.httpStatusCode,
    });
    expect(shape(sentLean)).toEqual(shape(sentSdk));
    expect(sentLean.Successful?.map((entry) => entry.Id)).toEqual(['m0', 'm1', 'm2']);

    const byLean = await receiveAll(lean, fifoUrl);
    expect(byLean.Messages).toHaveLength(6);
    expect(byLean.Messages![0].MessageAttributes!.bytes.BinaryValue).toBeInstanceOf(Uint8Array);
    // Released at once, then received again by the SDK: the same messages, the same shapes (bytes as bytes).
    const released = await lean.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: fifoUrl,
        Entries: [
          ...byLean.Messages!.map((message, i) => ({
            Id: `v${i}`,
            ReceiptHandle: message.ReceiptHandle!,
            VisibilityTimeout: 0,
          })),
          { Id: 'bad', ReceiptHandle: 'not-a-receipt-handle', VisibilityTimeout: 0 },
        ],
      }),
    );
    expect(released.Successful).toHaveLength(6);
    expect(released.Failed?.map((entry) => [entry.Id, entry.SenderFault])).toEqual([['bad', true]]);
    const bySdk = await receiveAll(sdk, fifoUrl);
    expect(comparable(bySdk.Messages)).toEqual(comparable(byLean.Messages));

    const deleted = await lean.send(
      new DeleteMessageBatchCommand({
        QueueUrl: fifoUrl,
        Entries: bySdk.Messages!.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
    expect(deleted.Successful).toHaveLength(6);
    expect((await receiveAll(lean, fifoUrl)).Messages ?? []).toEqual([]);

    expect(door.seen.length).toBeGreaterThanOrEqual(7);
    expect(door.seen.filter((request) => request.problem)).toEqual([]);
  });

  it('fails as the SDK does for a queue that does not exist, without retrying', async () => {
    const missing = `${door.url}/000000000000/missing-${randomUUID().slice(0, 8)}`;
    const attempt = (client: SQSClient) =>
      client.send(new ReceiveMessageCommand({ QueueUrl: missing })).then(
        () => undefined,
        (error: unknown) => error as QueueDoesNotExist,
      );
    const [fromLean, fromSdk] = [await attempt(lean), await attempt(sdk)];
    expect(fromLean).toBeInstanceOf(QueueDoesNotExist);
    const fields = (error?: QueueDoesNotExist) => ({
      name: error?.name,
      message: error?.message,
      fault: error?.$fault,
      status: error?.$metadata.httpStatusCode,
      attempts: error?.$metadata.attempts,
      code: (error as { Code?: string })?.Code,
      type: (error as { Type?: string })?.Type,
    });
    expect(fields(fromLean)).toEqual(fields(fromSdk));
    expect(fields(fromLean)).toMatchObject({ name: 'QueueDoesNotExist', status: 400, attempts: 1 });
  });

  it('retries throttling, 5xx answers and dropped connections, then succeeds', async () => {
    door.faults.push(
      { status: 400, body: { __type: 'com.amazonaws.sqs#RequestThrottled', message: 'slow down' } },
      'drop',
    );
    door.seen.length = 0;
    const throttled = await lean.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch('retry').map(plain) }),
    );
    expect(throttled.Successful).toHaveLength(3);
    expect(throttled.$metadata.attempts).toBe(3);
    expect(throttled.$metadata.totalRetryDelay).toBeGreaterThanOrEqual(0);

    door.faults.push({ status: 503, body: {} }, { status: 503, body: {} }, { status: 503, body: {} });
    const unavailable = await lean
      .send(new ReceiveMessageCommand({ QueueUrl: queueUrl }))
      .catch((error: Error) => error);
    expect(unavailable).toMatchObject({ $fault: 'server', $metadata: { httpStatusCode: 503, attempts: 3 } });
    await drain(queueUrl);
  });

  it('sends a request at most the SDK configuration’s maxAttempts times', async () => {
    const once = new LeanSqsClient(config(door.url, { maxAttempts: 1 }));
    door.faults.push({ status: 500, body: {} });
    const error = await once.send(new ReceiveMessageCommand({ QueueUrl: queueUrl })).catch((caught: Error) => caught);
    expect(error).toMatchObject({ name: 'InternalError', $metadata: { attempts: 1 } });
    once.destroy();
  });

  it('corrects its clock from the server’s Date when SQS says the request is skewed, as the SDK does', async () => {
    const skewed = new LeanSqsClient(config(door.url));
    door.serverTimeOffsetMs = 3_600_000;
    door.skewLimitMs = 300_000;
    door.seen.length = 0;
    const output = await skewed.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(output.$metadata.attempts).toBe(2);
    expect(skewed.config.systemClockOffset).toBeGreaterThan(3_500_000);
    // The offset is the SDK's own: its calls on this client are signed at the corrected time too.
    await skewed.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    expect(door.seen.map((request) => request.target)).toEqual([
      'AmazonSQS.ReceiveMessage',
      'AmazonSQS.ReceiveMessage',
      'AmazonSQS.GetQueueAttributes',
    ]);
    skewed.destroy();
  });

  it('signs with the credentials the SDK resolves now, so rotated instance-role keys are used', async () => {
    door.secrets.set('AKIDROTATED', 'rotated-secret');
    let current = CREDENTIALS;
    const rotating = new LeanSqsClient(
      config(door.url, {
        // Expiring within the SDK's refresh window: the SDK asks the provider again before every signature.
        credentials: async () => ({ ...current, expiration: new Date(Date.now() + 60_000) }),
      }),
    );
    door.seen.length = 0;
    await rotating.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    current = { ...CREDENTIALS, accessKeyId: 'AKIDROTATED', secretAccessKey: 'rotated-secret' };
    await rotating.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(door.seen.map((request) => [request.keyId, request.problem])).toEqual([
      ['AKIDEXAMPLE', undefined],
      ['AKIDROTATED', undefined],
    ]);
    rotating.destroy();
  });

  it('is refused, not retried, when its signature does not hold', async () => {
    const wrong = new LeanSqsClient(config(door.url, { credentials: { ...CREDENTIALS, secretAccessKey: 'wrong' } }));
    door.seen.length = 0;
    const error = await wrong.send(new ReceiveMessageCommand({ QueueUrl: queueUrl })).catch((caught: Error) => caught);
    expect(error).toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403, attempts: 1 } });
    expect(door.seen).toHaveLength(1);
    wrong.destroy();
  });

  it('ends a long poll at once when its signal aborts, and leaves no listener on a signal it is given again', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++)
      await lean.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }), { abortSignal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const started = Date.now();
    const polling = lean.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10 }), {
      abortSignal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(polling).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(
      lean.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }), { abortSignal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('leaves other commands, callbacks and other options to the SDK and its middleware', async () => {
    const viaSdk: string[] = [];
    const client = new LeanSqsClient(config(door.url));
    client.middlewareStack.add(
      (next, context) => (args) => {
        viaSdk.push(context.commandName!);
        return next(args);
      },
      { step: 'initialize', name: 'recordSdkCalls' },
    );
    await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }), { requestTimeout: 5_000 });
    await new Promise((resolve, reject) =>
      client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }), (error, data) =>
        error ? reject(error) : resolve(data),
      ),
    );
    const md5On = new LeanSqsClient({ ...config(door.url), md5: undefined });
    md5On.middlewareStack.add(
      (next, context) => (args) => {
        viaSdk.push(`md5 ${context.commandName}`);
        return next(args);
      },
      { step: 'initialize', name: 'recordSdkCalls' },
    );
    await md5On.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(viaSdk).toEqual([
      'GetQueueAttributesCommand',
      'ReceiveMessageCommand',
      'ReceiveMessageCommand',
      'md5 ReceiveMessageCommand',
    ]);
    client.destroy();
    md5On.destroy();
  });

  const plain = ({ MessageGroupId, MessageDeduplicationId, ...entry }: ReturnType<typeof batch>[number]) => entry;

  async function drain(QueueUrl: string): Promise<void> {
    for (;;) {
      const { Messages } = await sdk.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
      if (!Messages?.length) return;
      await sdk.send(
        new DeleteMessageBatchCommand({
          QueueUrl,
          Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
  }
});
