import { randomBytes } from 'node:crypto';
import { CyphrClient, LiveConnection, Session } from '../../scripts/testing/api-client';
import { replicaCaughtUp, sleep } from '../../server/test/helpers';
import { startStack, Stack } from './stack';

jest.setTimeout(60_000);

/**
 * Several devices per account through the deployed shape (two API instances, SQS, the worker, PostgreSQL primary and
 * replica, Redis), driven by the typed client as an app would: every device of both accounts gets each conversation
 * message live, devices that were offline catch up with one sync plus `after` pages, and device changes reach the
 * account and its contacts but nobody else.
 */
describe('devices: three of one account, two of another (real services)', () => {
  let stack: Stack;
  let clients: CyphrClient[];
  let alice: Session[];
  let bob: Session[];
  let conversationId: string;

  beforeAll(async () => {
    stack = await startStack();
    clients = stack.servers.map((server) => new CyphrClient(server.url));
    const [aliceAccount, bobAccount] = [await clients[0].register(), await clients[1].register()];
    alice = [
      aliceAccount,
      await clients[1].login(aliceAccount, 'laptop'),
      await clients[0].login(aliceAccount, 'tablet'),
    ];
    bob = [bobAccount, await clients[0].login(bobAccount, 'laptop')];
    conversationId = await clients[0].createConversation(alice[0], [bobAccount.userId]);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** Each device on a socket, the instances alternating. */
  const connect = (devices: Session[]) =>
    Promise.all(devices.map((device, index) => clients[index % 2].connect(device)));
  const messageFrom = (id: string) => (event: { type: string; message?: { id: string } }) =>
    event.type === 'message' && event.message?.id === id;

  it('every device of both accounts gets a message live, and offline devices catch up by sync and after', async () => {
    expect(alice.map((device) => device.deviceId)).toEqual([1, 2, 3]);
    expect(bob.map((device) => device.deviceId)).toEqual([1, 2]);
    const everyone = [...alice, ...bob];
    const sockets = await connect(everyone);
    // Where each device stands before going offline.
    const cursors = await Promise.all(everyone.map((device) => clients[0].sync(device)));
    try {
      const first = await clients[1].send(alice[1], conversationId, randomBytes(32).toString('base64'));
      const received = await Promise.all(sockets.map((socket) => socket.next(messageFrom(first.id), 15_000)));
      expect(
        received.map((event) => (event as { message: { senderDeviceId: number } }).message.senderDeviceId),
      ).toEqual(everyone.map(() => alice[1].deviceId));

      // Alice's tablet and Bob's laptop go offline; three more messages arrive meanwhile, from both sides.
      const offline = [2, 4];
      offline.forEach((index) => sockets[index].close());
      const later = [
        await clients[0].send(alice[0], conversationId),
        await clients[1].send(bob[0], conversationId),
        await clients[0].send(alice[1], conversationId),
      ];
      const online = sockets.filter((_, index) => !offline.includes(index));
      for (const socket of online) await socket.next(messageFrom(later[2].id), 15_000);
      await replicaCaughtUp();

      for (const index of offline) {
        const device = everyone[index];
        const answer = await clients[index % 2].sync(device, cursors[index].nextSince);
        const entry = answer.conversations.find((conversation) => conversation.id === conversationId);
        expect(entry).toBeDefined();
        expect(entry!.newMessages).toBeGreaterThanOrEqual(4);
        expect(answer.pendingDeviceMessages).toBe(0);
        const caughtUp = await clients[index % 2].historyAfter(device, conversationId, entry!.pageFrom);
        const ids = caughtUp.map((message) => message.id);
        // In storage order, without gaps: the message seen live before, then the three sent while away.
        expect(ids.slice(ids.indexOf(first.id))).toEqual([first.id, ...later.map((message) => message.id)]);
      }
    } finally {
      sockets.forEach((socket) => socket.close());
    }
  });

  it('device changes reach the account’s devices and its contacts, not strangers', async () => {
    const stranger = await clients[0].register();
    const watchers: LiveConnection[] = await connect([...alice, ...bob, stranger]);
    try {
      const phone = await clients[1].login(alice[0], 'phone 2');
      const added = (event: { type: string; deviceId?: number }) =>
        event.type === 'device-added' && event.deviceId === phone.deviceId;
      const changed = (event: { type: string; userId?: string }) =>
        event.type === 'devices-changed' && event.userId === alice[0].userId;
      for (const socket of watchers.slice(0, 3)) await socket.next(added);
      for (const socket of watchers.slice(0, 5)) await socket.next(changed);

      await clients[0].removeDevice(alice[0], phone.deviceId);
      for (const socket of watchers.slice(0, 5))
        await socket.next((event) => changed(event) && socket.events.filter(changed).length === 2);
      expect((await clients[0].devices(alice[0])).map((device) => device.id)).toEqual([1, 2, 3]);

      await sleep(300); // what the stranger would have got by now
      expect(watchers[5].events.filter((event) => event.type !== 'ready')).toEqual([]);
      // Bob's devices were told of Alice's new device, but not given its own notice.
      expect(watchers[3].events.filter(added)).toEqual([]);
    } finally {
      watchers.forEach((socket) => socket.close());
    }
  });
});
