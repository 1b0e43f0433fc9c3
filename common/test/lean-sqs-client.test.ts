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

type Fault = { status: number; body?: object | string; headers?: Record<string, string> } | 'drop' | 'hang';

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
  readonly seen: {
    target: string;
    via: 'lean' | 'sdk';
    at: number;
    amzDate: string;
    problem?: string;
    keyId?: string;
  }[] = [];
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
      // The SDK marks each call with an invocation id; the lean path sends none.
      const via = request.headers['amz-sdk-invocation-id'] ? 'sdk' : 'lean';
      this.seen.push({ target: String(request.headers['x-amz-target']), via, at: Date.now(), amzDate, problem, keyId });
      const date = new Date(Date.now() + this.serverTimeOffsetMs).toUTCString();
      const answer = (status: number, json: object | string, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', date, ...headers });
        response.end(typeof json === 'string' ? json : JSON.stringify(json));
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
      if (fault === 'hang') return;
      if (fault) return answer(fault.status, fault.body ?? {}, fault.headers);
      // The local server knows its queues by their own URLs: name them so on the way in.
      const forwarded = Buffer.from(body.toString().split(this.url).join(sqsEndpoint));
      const headers = {
        ...request.headers,
        host: new URL(sqsEndpoint).host,
        'content-length': String(forwarded.length),
      };
      const upstream = http.request(`${sqsEndpoint}/`, { method: 'POST', headers }, (reply) => {
        response.writeHead(reply.statusCode!, { ...reply.headers, date }); // the front door's clock is SQS's
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

    // The client's five calls took the lean path, each one request; the SDK client's two went through the SDK.
    expect(door.seen.map((request) => request.via)).toEqual(['lean', 'sdk', 'lean', 'lean', 'sdk', 'lean', 'lean']);
    expect(door.seen.filter((request) => request.problem)).toEqual([]);
  });

  /** What callers and sqs-consumer read of an SDK error. */
  const fields = (error: unknown) => {
    const sdkError = error as QueueDoesNotExist & { Code?: string; Type?: string };
    return {
      constructor: sdkError.constructor.name,
      name: sdkError.name,
      message: sdkError.message,
      fault: sdkError.$fault,
      status: sdkError.$metadata?.httpStatusCode,
      attempts: sdkError.$metadata?.attempts,
      code: sdkError.Code,
      type: sdkError.Type,
    };
  };
  const failureOf = (client: SQSClient, QueueUrl: string) =>
    client.send(new ReceiveMessageCommand({ QueueUrl })).then(
      () => undefined,
      (error: unknown) => error,
    );

  it('fails as the SDK does for a queue that does not exist: the SDK makes the call again and throws', async () => {
    const missing = `${door.url}/000000000000/missing-${randomUUID().slice(0, 8)}`;
    door.seen.length = 0;
    const fromLean = await failureOf(lean, missing);
    expect(door.seen.map((request) => request.via)).toEqual(['lean', 'sdk']);
    const fromSdk = await failureOf(sdk, missing);
    expect(fromLean).toBeInstanceOf(QueueDoesNotExist);
    expect(fields(fromLean)).toEqual(fields(fromSdk));
    expect(fields(fromLean)).toMatchObject({ name: 'QueueDoesNotExist', status: 400, attempts: 1 });
  });

  it('hands dropped connections, throttling and 5xx answers to the SDK, which retries them', async () => {
    door.faults.push('drop', {
      status: 400,
      body: { __type: 'com.amazonaws.sqs#RequestThrottled', message: 'slow down' },
    });
    door.seen.length = 0;
    const sent = await lean.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch('retry').map(plain) }),
    );
    expect(sent.Successful).toHaveLength(3);
    expect(door.seen.map((request) => request.via)).toEqual(['lean', 'sdk', 'sdk']);
    expect(sent.$metadata.attempts).toBe(2);

    // Four 503s: the lean request's and each of the SDK's three attempts.
    door.faults.push(...Array.from({ length: 4 }, () => ({ status: 503, body: {} })));
    door.seen.length = 0;
    const unavailable = await failureOf(lean, queueUrl);
    expect(fields(unavailable)).toMatchObject({ fault: 'server', status: 503, attempts: 3 });
    expect(door.seen.map((request) => request.via)).toEqual(['lean', 'sdk', 'sdk', 'sdk']);
    await drain(queueUrl);
  });

  it('charges a failed lean attempt to the retry quota the SDK keeps, waits its backoff, and refills on success', async () => {
    const client = new LeanSqsClient(config(door.url));
    const strategy = (await client.config.retryStrategy()) as unknown as { getCapacity(): number };
    const full = strategy.getCapacity();
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(strategy.getCapacity()).toBe(full);

    // With the jitter at its top, a throttled attempt's backoff is the SDK's whole first throttling delay.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
    door.faults.push({ status: 400, body: { __type: 'com.amazonaws.sqs#RequestThrottled', message: 'slow down' } });
    door.seen.length = 0;
    try {
      await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    } finally {
      random.mockRestore();
    }
    expect(door.seen.map((request) => request.via)).toEqual(['lean', 'sdk']);
    expect(door.seen[1].at - door.seen[0].at).toBeGreaterThanOrEqual(400);
    const charged = strategy.getCapacity();
    expect(charged).toBeLessThan(full);
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(strategy.getCapacity()).toBe(charged + 1);
    client.destroy();
  });

  it('does not make a call again when SQS answered it but the answer cannot be read', async () => {
    door.faults.push({ status: 200, body: '<html>proxy error page</html>' });
    door.seen.length = 0;
    const error = await lean
      .send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch('unread').map(plain) }))
      .catch((caught: Error) => caught);
    expect(error).toMatchObject({ name: 'UnreadableAnswer', $metadata: { httpStatusCode: 200 } });
    expect(door.seen.map((request) => request.via)).toEqual(['lean']);
  });

  it('sends to the configured endpoint whatever host a queue URL names, and to the queue URL’s host without one', async () => {
    const direct = created[1]; // the local server's own URL for the queue, not the front door's
    door.seen.length = 0;
    await lean.send(new ReceiveMessageCommand({ QueueUrl: direct }));
    expect(door.seen.map((request) => request.via)).toEqual(['lean']);
    const { endpoint, ...withoutEndpoint } = config(door.url);
    const byQueueUrl = new LeanSqsClient(withoutEndpoint);
    door.seen.length = 0;
    await byQueueUrl.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(door.seen.map((request) => request.via)).toEqual(['lean']);
    byQueueUrl.destroy();
    expect(endpoint).toBe(door.url);
  });

  it('hands a request that stalls to the SDK after its idle time', async () => {
    const impatient = new LeanSqsClient(config(door.url), { idleTimeoutMs: 300 });
    door.faults.push('hang');
    door.seen.length = 0;
    const started = Date.now();
    const output = await impatient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
    expect(output.$metadata.httpStatusCode).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(door.seen.map((request) => request.via)).toEqual(['lean', 'sdk']);
    impatient.destroy();
  });

  it('with maxAttempts 1, does not retry: the SDK makes its one attempt only to shape the error', async () => {
    const once = new LeanSqsClient(config(door.url, { maxAttempts: 1 }));
    door.faults.push({ status: 500, body: {} }, { status: 500, body: {} });
    door.seen.length = 0;
    expect(fields(await failureOf(once, queueUrl))).toMatchObject({ status: 500, attempts: 1 });
    expect(door.seen.map((request) => request.via)).toEqual(['lean', 'sdk']);
    once.destroy();
  });

  it('signs at the time the SDK corrected its clock to when SQS says a request is skewed', async () => {
    const skewed = new LeanSqsClient(config(door.url));
    door.serverTimeOffsetMs = 3_600_000;
    door.skewLimitMs = 300_000;
    door.seen.length = 0;
    await skewed.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    // Refused, refused again through the SDK, which takes the server's Date and retries.
    expect(door.seen.map((request) => request.via)).toEqual(['lean', 'sdk', 'sdk']);
    expect(skewed.config.systemClockOffset).toBeGreaterThan(3_500_000);
    door.seen.length = 0;
    await skewed.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(door.seen.map((request) => request.via)).toEqual(['lean']);
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

  it('is refused when its signature does not hold, and the SDK says so', async () => {
    const wrong = new LeanSqsClient(config(door.url, { credentials: { ...CREDENTIALS, secretAccessKey: 'wrong' } }));
    door.seen.length = 0;
    expect(fields(await failureOf(wrong, queueUrl))).toMatchObject({
      name: 'SignatureDoesNotMatch',
      status: 403,
      attempts: 1,
    });
    expect(door.seen.map((request) => [request.via, Boolean(request.problem)])).toEqual([
      ['lean', true],
      ['sdk', true],
    ]);
    wrong.destroy();
  });

  it('ends a long poll at once when its signal aborts, and leaves no listener on a signal it is given again', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++)
      await lean.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }), { abortSignal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    door.seen.length = 0;
    const started = Date.now();
    const polling = lean.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10 }), {
      abortSignal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(polling).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Nothing more is sent after the abort.
    expect(door.seen.map((request) => request.via)).toEqual(['lean']);
    await expect(
      lean.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }), { abortSignal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('leaves other commands, callbacks, other options and clients configured otherwise to the SDK', async () => {
    const receive = () => new ReceiveMessageCommand({ QueueUrl: queueUrl });
    const md5On = new LeanSqsClient({ ...config(door.url), md5: undefined });
    const ownHandler = new LeanSqsClient(config(door.url, { requestHandler: { requestTimeout: 5_000 } }));
    door.seen.length = 0;
    await lean.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await lean.send(receive(), { requestTimeout: 5_000 });
    await new Promise((resolve, reject) =>
      lean.send(receive(), (error, data) => (error ? reject(error) : resolve(data))),
    );
    await md5On.send(receive());
    await ownHandler.send(receive());
    expect(door.seen.map((request) => request.via)).toEqual(['sdk', 'sdk', 'sdk', 'sdk', 'sdk']);
    md5On.destroy();
    ownHandler.destroy();
  });

  /** A batch entry for a standard queue: no FIFO fields. */
  const plain = ({ Id, MessageBody, MessageAttributes }: ReturnType<typeof batch>[number]) => ({
    Id,
    MessageBody,
    MessageAttributes,
  });

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
