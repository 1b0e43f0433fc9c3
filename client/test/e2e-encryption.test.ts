import { randomUUID } from 'node:crypto';
import { CyphrClient } from '../../scripts/testing/api-client';
import { eventually } from '../../scripts/testing/waiting';
import { call, replicaCaughtUp, sql } from '../../server/test/helpers';
import { toBase64 } from '../crypto/bytes';
import { generateIdentityKeyPair } from '../crypto/identity';
import {
  generateOneTimePreKeys,
  generateSignedPreKey,
  toOneTimePreKeyWire,
  toSignedPreKeyWire,
} from '../crypto/prekeys';
import {
  CryptoError,
  DuplicateMessage,
  InvalidEnvelope,
  InvalidSignature,
  ReceivedMessage,
  UntrustedIdentity,
} from '../sdk';
import { findPlaintexts, randomWords } from './find-plaintexts';
import {
  accessTokenOf,
  Device,
  Devices,
  historyFromDatabase,
  PASSWORD,
  receivedLive,
  storeContents,
  syncFor,
} from './sdk-fixtures';
import { startStack, Stack } from '../../worker/test/stack';

jest.setTimeout(60_000);

/**
 * The end-to-end encryption claims, through the deployed shape (two API instances, SQS, the worker, PostgreSQL
 * primary and replica, Redis) with the SDK on every device. The tests run in order on one cast: Alice (phone, laptop)
 * and Bob (phone, later a tablet) in conversation `chat`.
 */
describe('end-to-end encryption through the deployed shape', () => {
  let stack: Stack;
  let devices: Devices;
  let urls: string[];
  let alice: Device;
  let aliceLaptop: Device;
  let bob: Device;
  let bobTablet: Device;
  let chat: string;
  /** Every pairwise envelope Alice's phone posted to a device mailbox, with its addressee. */
  const alicePairwise: Array<{ userId: string; deviceId: number; ciphertext: string }> = [];
  const history: string[] = [];

  const say = async (from: Device, conversationId = chat) => {
    const text = randomWords(8);
    const { messageId } = await from.client.sendText(conversationId, text);
    if (conversationId === chat) history.push(text);
    return { text, messageId };
  };
  const texts = (messages: ReceivedMessage[]) => messages.map((message) => message.text);
  const codes = (errors: Error[]) => errors.map((error) => (error instanceof CryptoError ? error.code : error.message));

  beforeAll(async () => {
    stack = await startStack();
    urls = stack.servers.map((server) => server.url);
    devices = new Devices(urls);
    const watching: typeof fetch = (input, init) => {
      if (String(input).endsWith('/v1/devices/messages') && init?.method === 'POST') {
        alicePairwise.push(...(JSON.parse(String(init.body)) as { messages: typeof alicePairwise }).messages);
      }
      return fetch(input, init);
    };
    const opened = await devices.open('alice-phone', 0, undefined, watching);
    const account = await opened.client.register(`alice_${randomUUID().slice(0, 8)}`, PASSWORD, 'phone');
    alice = { ...opened, ...account };
    devices.all.push(alice);
    bob = await devices.register('bob-phone', 1);
    aliceLaptop = await devices.link(alice, 'alice-laptop', 1);
    chat = await alice.client.createConversation([bob.userId]);
    await Promise.all([alice, bob, aliceLaptop].map((device) => device.client.connect()));
  });

  afterAll(async () => {
    await devices?.closeAll();
    await stack?.stop();
  });

  it('several devices of two accounts read each other live, and an offline device catches up once', async () => {
    const first = [await say(alice), await say(bob), await say(aliceLaptop)];
    await receivedLive(bob, [first[0].text, first[2].text]);
    await receivedLive(aliceLaptop, [first[0].text, first[1].text]);
    await receivedLive(alice, [first[1].text, first[2].text]);

    await aliceLaptop.client.close();
    const whileAway = [await say(bob), await say(alice)];
    await receivedLive(alice, [whileAway[0].text]);
    aliceLaptop = await devices.reopen(aliceLaptop, 0);
    expect(texts(await syncFor(aliceLaptop, 2))).toEqual(whileAway.map((m) => m.text));
    expect(await aliceLaptop.client.sync()).toEqual([]);
    for (const device of [alice, bob, aliceLaptop]) expect(device.errors).toEqual([]);
  });

  it('a device added later reads what was sent after it joined, and earlier messages only as undecryptable', async () => {
    const before = [...history];
    bobTablet = await devices.link(bob, 'bob-tablet', 0);
    const after = [await say(alice), await say(aliceLaptop)];
    expect(texts(await syncFor(bobTablet, 2))).toEqual(after.map((m) => m.text));

    const seen = await bobTablet.client.history(chat);
    expect(seen.map((m) => (m.undecryptable ? 'undecryptable' : m.text))).toEqual([
      ...before.map(() => 'undecryptable'),
      ...after.map((m) => m.text),
    ]);
    // Earlier messages are under a key it never got (NO_SENDER_KEY), or before the chain position it was handed
    // (reported, as libsignal does, as an already-used message key: DUPLICATE_MESSAGE); never as text.
    expect(seen.slice(0, before.length).map((m) => ({ text: m.text, error: m.error }))).toEqual(
      before.map(() => ({ text: '', error: expect.stringMatching(/^(NO_SENDER_KEY|DUPLICATE_MESSAGE)$/) })),
    );
    // Nothing it holds reveals the earlier texts.
    expect(findPlaintexts([await storeContents(bobTablet)], before)).toEqual([]);
    expect(codes(bobTablet.errors).filter((code) => code !== 'DUPLICATE_MESSAGE')).toEqual([]);
  });

  it('a removed device cannot decrypt what is sent after its removal, even fed the ciphertext', async () => {
    await aliceLaptop.client.close();
    await alice.client.removeDevice(aliceLaptop.deviceId);
    // Bob sends once Alice's message reached him: by then he has heard of the removal (the server's devices-changed
    // and Alice's own notice come first on his socket), so "after its removal" holds for him too.
    const afterRemoval = [await say(alice)];
    await receivedLive(bob, [afterRemoval[0].text]);
    afterRemoval.push(await say(bob));
    await receivedLive(alice, [afterRemoval[1].text]);

    // The laptop keeps its store; the server refuses it, so its history comes from the database directly.
    const removed = await devices.reopen(aliceLaptop, 0, historyFromDatabase());
    const seen = await removed.client.history(chat);
    const shown = (ids: string[]) =>
      ids.map((id) => {
        const message = seen.find((m) => m.messageId === id);
        return message && { undecryptable: message.undecryptable, error: message.error, text: message.text };
      });
    expect(shown(afterRemoval.map((m) => m.messageId))).toEqual(
      afterRemoval.map(() => ({ undecryptable: true, error: 'NO_SENDER_KEY', text: '' })),
    );
    // What it read before its removal it still reads (from its own store): the rotation, not the harness, hides the rest.
    const earlier = seen.filter((m) => !afterRemoval.some((sent) => sent.messageId === m.messageId));
    expect(earlier.filter((m) => m.undecryptable)).toEqual([]);
    expect(
      findPlaintexts(
        [await storeContents(removed)],
        afterRemoval.map((m) => m.text),
      ),
    ).toEqual([]);
    await removed.client.close();
  });

  it('a removed member cannot decrypt what is sent after their removal, even fed the ciphertext', async () => {
    const carol = await devices.register('carol', 1);
    const group = await alice.client.createConversation([bob.userId, carol.userId]);
    await carol.client.connect();
    const hello = await say(alice, group);
    await receivedLive(carol, [hello.text]);

    await alice.client.removeMember(group, carol.userId);
    const afterRemoval = [await say(alice, group)];
    await receivedLive(bob, [afterRemoval[0].text]);
    afterRemoval.push(await say(bob, group));
    await receivedLive(alice, [afterRemoval[1].text]);
    await carol.client.close();

    const removed = await devices.reopen(carol, 0, historyFromDatabase());
    const seen = await removed.client.history(group);
    expect(seen.map((m) => (m.undecryptable ? `undecryptable ${m.error}` : m.text))).toEqual([
      hello.text,
      'undecryptable NO_SENDER_KEY',
      'undecryptable NO_SENDER_KEY',
    ]);
    expect(texts(carol.messages)).toEqual([hello.text]);
    expect(
      findPlaintexts(
        [await storeContents(removed)],
        afterRemoval.map((m) => m.text),
      ),
    ).toEqual([]);
    await removed.client.close();
  });

  it('out-of-order and duplicate delivery: each message decrypts exactly once', async () => {
    await bobTablet.client.close();
    const burst = [await say(alice), await say(alice), await say(alice), await say(alice), await say(alice)];
    await receivedLive(
      bob,
      burst.map((m) => m.text),
    );
    await replicaCaughtUp();

    // The tablet's catch-up gets each page reversed and every item twice: later chain keys first, then the skipped.
    const shuffled: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!/\/messages\?/.test(String(input)) || init?.method !== 'GET' || !response.ok) return response;
      const page = (await response.json()) as { items: unknown[]; nextCursor: string | null };
      const items = [...page.items].reverse();
      return Response.json({ ...page, items: [...items, ...items] });
    };
    bobTablet = await devices.reopen(bobTablet, 1, shuffled);
    // (It also catches up on what it missed in the other conversations since it last synced.)
    const burstIds = new Set(burst.map((m) => m.messageId));
    const caughtUp = await syncFor(bobTablet, burstIds);
    const ofBurst = caughtUp.filter((m) => burstIds.has(m.messageId));
    expect(texts(ofBurst).sort()).toEqual(burst.map((m) => m.text).sort());
    expect(new Set(caughtUp.map((m) => m.messageId)).size).toBe(caughtUp.length);
    expect(await bobTablet.client.sync()).toEqual([]);
    // Live delivery followed by catch-up of the same messages: nothing is delivered twice.
    expect(await bob.client.sync()).toEqual([]);
    expect(bobTablet.errors).toEqual([]);
  });

  it('a tampered stored message is rejected with a typed error and never shown as text', async () => {
    await bobTablet.client.close();
    const target = await say(alice);
    await receivedLive(bob, [target.text]);
    const [row] = await eventually(
      async () => {
        const rows = await sql<{ ciphertext: string }>('primary', 'SELECT ciphertext FROM messages WHERE id = $1', [
          target.messageId,
        ]);
        return rows.length ? rows : undefined;
      },
      15_000,
      'the message stored',
    );
    const bytes = Buffer.from(row.ciphertext, 'base64');
    bytes[bytes.length >> 1] ^= 0x01;
    await sql('primary', 'UPDATE messages SET ciphertext = $2 WHERE id = $1', [
      target.messageId,
      bytes.toString('base64'),
    ]);
    await replicaCaughtUp();

    bobTablet = await devices.reopen(bobTablet, 0);
    expect(await bobTablet.client.sync()).toEqual([]);
    // A group message is signed over header and ciphertext: the flipped byte fails the signature before decryption.
    expect(bobTablet.errors).toHaveLength(1);
    expect(bobTablet.errors[0]).toBeInstanceOf(InvalidSignature);
    const shown = (await bobTablet.client.history(chat)).find((m) => m.messageId === target.messageId)!;
    expect(shown).toMatchObject({ undecryptable: true, text: '', error: codes(bobTablet.errors)[0] });
    await bobTablet.client.connect();
  });

  /**
   * Alice's phone posts the stored ciphertext of one of its messages again, as a new message in `conversationId`;
   * answers the error Bob's phone raised for it.
   */
  async function repost(messageId: string, conversationId: string, url: string): Promise<Error> {
    const [row] = await sql<{ ciphertext: string }>('primary', 'SELECT ciphertext FROM messages WHERE id = $1', [
      messageId,
    ]);
    const errorsBefore = bob.errors.length;
    const answer = await call(url, 'POST', `/v1/conversations/${conversationId}/messages`, {
      token: await accessTokenOf(alice),
      body: { clientMessageId: randomUUID(), ciphertext: row.ciphertext },
    });
    expect(answer.status).toBe(202);
    await eventually(async () => bob.errors.length > errorsBefore, 15_000, 'bob rejected the reposted envelope');
    return bob.errors[errorsBefore];
  }

  it('a replayed envelope (same device, same ciphertext, new message) is rejected as a duplicate', async () => {
    const original = await say(alice);
    await receivedLive(bob, [original.text]);
    expect(await repost(original.messageId, chat, urls[1])).toBeInstanceOf(DuplicateMessage);
    expect(bob.messages.filter((m) => m.text === original.text)).toHaveLength(1);
  });

  it('an envelope re-sent to another conversation or another device is rejected as misaddressed', async () => {
    // A conversation envelope moved into another conversation by its own sender device.
    const other = await alice.client.createConversation([bob.userId]);
    const there = await say(alice, other);
    await receivedLive(bob, [there.text]);
    const here = await say(alice);
    await receivedLive(bob, [here.text]);
    expect(await repost(here.messageId, other, urls[0])).toBeInstanceOf(InvalidEnvelope);

    // A pairwise envelope Alice's phone addressed to Bob's phone, re-sent by it to Bob's tablet.
    const toBobPhone = alicePairwise.find((m) => m.userId === bob.userId && m.deviceId === bob.deviceId);
    expect(toBobPhone).toBeDefined();
    const errorsBefore = bobTablet.errors.length;
    const resent = await call(urls[0], 'POST', '/v1/devices/messages', {
      token: await accessTokenOf(alice),
      body: { messages: [{ userId: bob.userId, deviceId: bobTablet.deviceId, ciphertext: toBobPhone!.ciphertext }] },
    });
    expect(resent.status).toBe(202);
    await eventually(async () => bobTablet.errors.length > errorsBefore, 15_000, 'the tablet rejected it');
    expect(bobTablet.errors.slice(errorsBefore)[0]).toBeInstanceOf(InvalidEnvelope);
  });

  it('an identity change is reported, and nothing is sent to that user until the new key is trusted', async () => {
    const dave = await devices.register('dave', 1);
    const withDave = await alice.client.createConversation([dave.userId]);
    await say(alice, withDave);
    const before = await alice.client.safetyNumber(dave.userId);
    const changed = new Promise<{ userId: string }>((resolve) => alice.client.on('identity-changed', resolve));

    // Dave "reinstalls": a new device of his account uploads another identity key (the server accepts it with his
    // password; it cannot tell a reinstall from an attack, which is why the client must say so).
    const api = new CyphrClient(urls[1]);
    const username = await alice.client.usernameOf(dave.userId);
    const reinstall = await api.login({ username, password: PASSWORD }, 'reinstalled');
    const identity = generateIdentityKeyPair();
    await api.uploadKeys(reinstall, {
      identityKey: toBase64(identity.publicKey),
      password: PASSWORD,
      signedPreKey: toSignedPreKeyWire(generateSignedPreKey(identity, 1)),
      oneTimePreKeys: generateOneTimePreKeys(1, 5).map(toOneTimePreKeyWire),
    });

    expect(await changed).toEqual({ userId: dave.userId });
    await expect(alice.client.sendText(withDave, 'refused')).rejects.toBeInstanceOf(UntrustedIdentity);
    expect(await alice.client.safetyNumber(dave.userId)).not.toBe(before);
    await alice.client.trustIdentity(dave.userId);
    await expect(alice.client.sendText(withDave, randomWords(4))).resolves.toHaveProperty('messageId');
  });
});
