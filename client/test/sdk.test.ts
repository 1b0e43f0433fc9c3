import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import type { ServerApp } from '../../server/bootstrap';
import { eventually } from '../../scripts/testing/waiting';
import { startStack, Stack } from '../../worker/test/stack';
import { CyphrClient } from '../../scripts/testing/api-client';
import { toBase64 } from '../crypto/bytes';
import { generateIdentityKeyPair } from '../crypto/identity';
import {
  generateOneTimePreKeys,
  generateSignedPreKey,
  toOneTimePreKeyWire,
  toSignedPreKeyWire,
} from '../crypto/prekeys';
import {
  InvalidSignature,
  MemoryStore,
  MessengerClient,
  NoSenderKey,
  ReceivedMessage,
  UntrustedIdentity,
  WebSocketConstructor,
} from '../sdk';

jest.setTimeout(60_000);

/**
 * The SDK end to end through the deployed shape (two API instances, SQS, the worker, PostgreSQL, Redis): two
 * accounts, a second device linked with approval, a conversation, messages live and after being offline, history.
 */
describe('SDK: register, link, converse, catch up (real services)', () => {
  let stack: Stack;
  let servers: ServerApp[];
  const clients: MessengerClient[] = [];
  /** What any client reported through its `error` event: nothing is expected. */
  const errors: Error[] = [];
  const name = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;
  const password = 'correct horse battery staple';

  const open = async (server: number, store = new MemoryStore(), fetchImpl?: typeof fetch) => {
    const client = await MessengerClient.open({
      server: servers[server].url,
      store,
      webSocket: WebSocket as unknown as WebSocketConstructor,
      fetch: fetchImpl,
    });
    client.on('error', (error) => errors.push(error));
    clients.push(client);
    return client;
  };

  /** The next `message` event with this text. */
  const received = (client: MessengerClient, text: string, timeoutMs = 15_000) =>
    new Promise<ReceivedMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message "${text}" within ${timeoutMs} ms`)), timeoutMs);
      client.on('message', (message) => {
        if (message.text !== text) return;
        clearTimeout(timer);
        resolve(message);
      });
    });

  beforeAll(async () => {
    stack = await startStack();
    servers = stack.servers;
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await stack?.stop();
  });

  it('two accounts, a linked second device, live and offline messages, decrypted history', async () => {
    const [aliceName, bobName] = [name('alice'), name('bob')];
    // Alice's requests to the mailbox are watched: who gets her sender keys.
    const mailboxPosts: Array<{ userId: string; deviceId: number }[]> = [];
    const sentCiphertexts: string[] = [];
    const watching: typeof fetch = (input, init) => {
      if (/\/v1\/conversations\/[^/]+\/messages$/.test(String(input)) && init?.method === 'POST') {
        sentCiphertexts.push(JSON.parse(String(init.body)).ciphertext);
      }
      if (String(input).endsWith('/v1/devices/messages') && init?.method === 'POST') {
        mailboxPosts.push(
          JSON.parse(String(init.body)).messages.map(({ userId, deviceId }: any) => ({ userId, deviceId })),
        );
      }
      return fetch(input, init);
    };
    const alice = await open(0, new MemoryStore(), watching);
    const bob = await open(1);
    const aliceAccount = await alice.register(aliceName, password, 'phone');
    const bobAccount = await bob.register(bobName, password);
    expect(aliceAccount.deviceId).toBe(1);
    expect(alice.linked).toBe(true);

    // A second device of Alice's reads nothing until her first device approves it with the code it shows.
    const laptopStore = new MemoryStore();
    let laptop = await open(1, laptopStore);
    const login = await laptop.login(aliceName, password, 'laptop');
    expect(login).toMatchObject({ userId: aliceAccount.userId, deviceId: 2 });
    expect(laptop.linked).toBe(false);
    await expect(alice.approveDevice(login.deviceId, 'AAAA-AAAA-AAAA')).rejects.toBeInstanceOf(InvalidSignature);
    await alice.approveDevice(login.deviceId, login.linkCode);
    await eventually(async () => (await laptop.sync(), laptop.linked), 15_000, 'the laptop linked', 200);
    expect((await alice.devices()).map((d) => d.name)).toEqual(['phone', 'laptop']);

    expect(await alice.userIdOf(bobName.toUpperCase())).toBe(bobAccount.userId);
    const conversationId = await alice.createConversation([bobAccount.userId], 'lunch');

    // Live: every device of both accounts reads what the others send.
    await Promise.all([alice.connect(), bob.connect(), laptop.connect()]);
    const hello = 'hello ' + randomBytes(8).toString('hex');
    const atBob = received(bob, hello);
    const atLaptop = received(laptop, hello);
    const sent = await alice.sendText(conversationId, hello);
    expect(await atBob).toMatchObject({ conversationId, messageId: sent.messageId, sender: aliceAccount.userId });
    expect((await atLaptop).senderDeviceId).toBe(1);

    const reply = 'reply ' + randomBytes(8).toString('hex');
    const replyAtAlice = [received(alice, reply), received(laptop, reply)];
    await bob.sendText(conversationId, reply);
    expect((await Promise.all(replyAtAlice)).map((m) => m.sender)).toEqual([bobAccount.userId, bobAccount.userId]);

    // Offline: the laptop closes; what Bob sends meanwhile arrives with its next sync, once, and acknowledged.
    await laptop.close();
    const offline = [
      'while you were out ' + randomBytes(4).toString('hex'),
      'second ' + randomBytes(4).toString('hex'),
    ];
    const atAlice = offline.map((text) => received(alice, text));
    for (const text of offline) await bob.sendText(conversationId, text);
    await Promise.all(atAlice);
    laptop = await open(0, laptopStore);
    const caughtUp: ReceivedMessage[] = [];
    await eventually(
      async () => {
        caughtUp.push(...(await laptop.sync()));
        return caughtUp.length >= offline.length;
      },
      15_000,
      'the laptop caught up',
      200,
    );
    expect(caughtUp.map((m) => m.text)).toEqual(offline);
    expect(await laptop.sync()).toEqual([]);

    // History decrypts on every device, oldest first, its own messages included.
    const everything = [hello, reply, ...offline];
    for (const client of [alice, bob, laptop]) {
      const history = await client.history(conversationId);
      expect(history.map((m) => m.text)).toEqual(everything);
      expect(history.some((m) => m.undecryptable)).toBe(false);
    }
    expect(await alice.safetyNumber(bobAccount.userId)).toBe(await bob.safetyNumber(aliceAccount.userId));

    // Removing the laptop: Alice's next send starts a new sender key and hands it to Bob's device only.
    await alice.removeDevice(login.deviceId);
    mailboxPosts.length = 0;
    const after = 'after the laptop ' + randomBytes(4).toString('hex');
    const afterAtBob = received(bob, after);
    await alice.sendText(conversationId, after);
    await afterAtBob;
    expect(mailboxPosts).toEqual([[{ userId: bobAccount.userId, deviceId: 1 }]]);
    // Even handed the ciphertext, the removed laptop cannot read it: it never got the new sender key.
    const view = {
      id: sent.messageId,
      seq: '0',
      conversationId,
      senderId: aliceAccount.userId,
      senderDeviceId: 1,
      clientMessageId: sent.messageId,
      ciphertext: sentCiphertexts[sentCiphertexts.length - 1],
      sentAt: new Date().toISOString(),
      storedAt: new Date().toISOString(),
    };
    await expect(laptop.decryptMessage(view)).rejects.toBeInstanceOf(NoSenderKey);
    // A tampered copy is refused with a typed error by a member that holds the key.
    const tampered = Buffer.from(view.ciphertext, 'base64');
    tampered[tampered.length - 70] ^= 1;
    await expect(bob.decryptMessage({ ...view, ciphertext: tampered.toString('base64') })).rejects.toBeInstanceOf(
      InvalidSignature,
    );
    expect(errors).toEqual([]);
  });
  it('an identity change of a contact is reported, and nothing is sent to them until it is trusted', async () => {
    const [aliceName, bobName] = [name('alice'), name('bob')];
    const alice = await open(0);
    const bob = await open(1);
    await alice.register(aliceName, password);
    const bobAccount = await bob.register(bobName, password);
    const conversationId = await alice.createConversation([bobAccount.userId]);
    await alice.sendText(conversationId, 'before');
    await alice.connect();
    const changed = new Promise<{ userId: string }>((resolve) => alice.on('identity-changed', resolve));

    // Bob "reinstalls": a new device of his account replaces the identity key (it needs his password).
    const api = new CyphrClient(servers[1].url);
    const reinstall = await api.login({ username: bobName, password }, 'reinstalled');
    const identity = generateIdentityKeyPair();
    await api.uploadKeys(reinstall, {
      identityKey: toBase64(identity.publicKey),
      password,
      signedPreKey: toSignedPreKeyWire(generateSignedPreKey(identity, 1)),
      oneTimePreKeys: generateOneTimePreKeys(1, 5).map(toOneTimePreKeyWire),
    });

    expect(await changed).toEqual({ userId: bobAccount.userId });
    await expect(alice.sendText(conversationId, 'refused')).rejects.toBeInstanceOf(UntrustedIdentity);
    // While pending, the safety number shown is the new key's: the one to compare before trusting it.
    const shown = await alice.safetyNumber(bobAccount.userId);
    await alice.trustIdentity(bobAccount.userId);
    await alice.sendText(conversationId, 'after trusting');
    // Bob's old device still signs with the old key: its bundle is refused (reported), the new one is used.
    expect(errors.some((e) => e instanceof InvalidSignature)).toBe(true);
    expect(await alice.safetyNumber(bobAccount.userId)).toBe(shown);
  });
});
