import { CyphrClient } from '../../scripts/testing/api-client';
import { eventually } from '../../scripts/testing/waiting';
import { CaptureHarness } from './capture';
import { Captured, findPlaintexts, randomWords } from './find-plaintexts';
import { startStack, Stack } from './stack';

jest.setTimeout(90_000);

/**
 * No plaintext anywhere: conversations through the deployed shape (two API instances, SQS, the worker, PostgreSQL
 * primary and replica, Redis) with known random plaintexts, then a scan of everything each boundary saw.
 */
describe('no plaintext reaches the server side', () => {
  let capture: CaptureHarness;
  let stack: Stack;
  let captures: Captured[];
  /** Sent in the clear on purpose, through every boundary: the scan must find it, or finding nothing means nothing. */
  const canary = randomWords(16);
  const canaryPath = canary.replace(/ /g, '-');

  beforeAll(async () => {
    capture = await CaptureHarness.start();
    stack = await startStack(capture);
    await plantCanary();
    captures = await capture.collect();
    if (process.env.CYPHR_CAPTURE_DIR) CaptureHarness.writeTo(process.env.CYPHR_CAPTURE_DIR, captures);
  });

  afterAll(async () => {
    await stack?.stop();
    await capture?.stop();
  });

  /** A message whose "ciphertext" is the canary's bytes, a URL that names it, a Redis key holding it. */
  async function plantCanary(): Promise<void> {
    const client = new CyphrClient(stack.servers[0].url);
    const [alice, bob] = [await client.register(), await client.register()];
    const conversationId = await client.createConversation(alice, [bob.userId]);
    const live = await new CyphrClient(stack.servers[1].url).connect(bob);
    try {
      const sent = await client.send(alice, conversationId, Buffer.from(canary).toString('base64'));
      await live.next((event) => event.type === 'message' && (event.message as { id: string }).id === sent.id, 15_000);
    } finally {
      live.close();
    }
    await fetch(`${stack.servers[1].url}/v1/conversations/${canaryPath}`);
    capture.workerLog.info({ canary }, 'planted by the test');
    await capture.redisClient.set(`e2e-canary:${canaryPath}`, canary, { EX: 120 });
    await eventually(async () => (await capture.redisClient.get(`e2e-canary:${canaryPath}`)) === canary);
  }

  it('finds the planted canary at every boundary it crossed', () => {
    const sources = (plaintext: string) =>
      new Set(findPlaintexts(captures, [plaintext]).map((finding) => finding.source.split(' ').slice(0, 2).join(' ')));
    expect([...sources(canary)].sort()).toEqual(
      expect.arrayContaining([
        'log worker',
        'pg primary',
        'pg replica',
        'redis key',
        'redis monitor',
        'redis publish',
        'sqs request',
        'sqs response',
      ]),
    );
    expect([...sources(canaryPath)]).toContain('log api');
    console.log(CaptureHarness.sizes(captures));
  });
});
