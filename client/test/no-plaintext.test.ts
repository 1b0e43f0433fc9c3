import { CyphrClient } from '../../scripts/testing/api-client';
import { eventually } from '../../scripts/testing/waiting';
import { CaptureHarness } from './capture';
import { Captured, findPlaintexts, randomWords } from './find-plaintexts';
import { Device, Devices, receivedLive, syncFor } from './sdk-fixtures';
import { startStack, Stack } from '../../worker/test/stack';

jest.setTimeout(90_000);

/**
 * No plaintext anywhere: a conversation through the deployed shape (two API instances, SQS, the worker, PostgreSQL
 * primary and replica, Redis) between two accounts with two devices each (the second ones linked with approval), with
 * known random plaintexts sent live and while a device is offline, read back by catch-up and history; then a scan of
 * everything each boundary saw finds none of them, while a canary planted in the clear is found at each boundary.
 */
describe('no plaintext reaches the server side', () => {
  let capture: CaptureHarness;
  let stack: Stack;
  let devices: Devices;
  let captures: Captured[];
  /** Every message text of the conversation: 16 random words each. */
  const plaintexts: string[] = [];
  const conversation: { texts: string[]; histories: string[][]; caughtUp: string[] } = {
    texts: [],
    histories: [],
    caughtUp: [],
  };
  /** Sent in the clear on purpose, through every boundary: the scan must find it, or finding nothing means nothing. */
  const canary = randomWords(16);
  const canaryPath = canary.replace(/ /g, '-');

  beforeAll(async () => {
    capture = await CaptureHarness.start();
    stack = await startStack(capture);
    devices = new Devices(
      stack.servers.map((server) => server.url),
      capture,
    );
    await converse();
    await plantCanary();
    await devices.closeAll();
    captures = await capture.collect();
    if (process.env.CYPHR_CAPTURE_DIR) CaptureHarness.writeTo(process.env.CYPHR_CAPTURE_DIR, captures);
  });

  afterAll(async () => {
    await devices?.closeAll();
    await stack?.stop();
    await capture?.stop();
  });

  /** Alice (phone, laptop) and Bob (phone, tablet): live messages, then the tablet catches up and answers. */
  async function converse(): Promise<void> {
    const alice = await devices.register('alice-phone', 0);
    const bob = await devices.register('bob-phone', 1);
    const aliceLaptop = await devices.link(alice, 'alice-laptop', 1);
    const bobTablet = await devices.link(bob, 'bob-tablet', 0);
    const conversationId = await alice.client.createConversation([bob.userId], 'plans');
    const online = [alice, aliceLaptop, bob];
    await Promise.all(online.map((device) => device.client.connect()));

    const send = async (from: Device) => {
      const text = randomWords(16);
      plaintexts.push(text);
      await from.client.sendText(conversationId, text);
      return text;
    };
    // Live: each online device sends; every other online device reads it from its socket.
    for (const sender of [alice, bob, aliceLaptop, bob, alice]) await send(sender);
    for (const device of online) {
      const others = plaintexts.filter((_, index) => [alice, bob, aliceLaptop, bob, alice][index] !== device);
      await receivedLive(device, others);
    }
    // Offline: Bob's tablet was never connected; it catches up by sync, then answers without a socket.
    conversation.caughtUp = (await syncFor(bobTablet, plaintexts.length)).map((message) => message.text);
    const answer = await send(bobTablet);
    for (const device of online) await receivedLive(device, [answer]);
    for (const device of [...online, bobTablet]) {
      conversation.histories.push((await device.client.history(conversationId)).map((message) => message.text));
    }
    conversation.texts = [...plaintexts];
    for (const device of devices.all) expect(device.errors).toEqual([]);
  }

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

  it('the conversation happened: every device read every message, live, by catch-up and in history', () => {
    expect(conversation.texts).toHaveLength(6);
    expect(conversation.caughtUp).toEqual(conversation.texts.slice(0, 5));
    for (const history of conversation.histories) expect(history).toEqual(conversation.texts);
  });

  it('no plaintext appears in any SQS body, Redis command, payload or key, database dump, log, or HTTP/WebSocket traffic', () => {
    // Each boundary captured something (an empty capture would pass vacuously).
    const sizes = CaptureHarness.sizes(captures);
    const boundaries = [
      'sqs request',
      'sqs response',
      'redis publish',
      'redis monitor',
      'redis key',
      'pg primary',
      'pg replica',
      'log api',
      'log worker',
      'ws alice-phone',
      'http bob-tablet',
    ];
    expect(boundaries.filter((boundary) => !(sizes[boundary] > 0))).toEqual([]);
    expect(findPlaintexts(captures, plaintexts)).toEqual([]);
  });

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
  });
});
