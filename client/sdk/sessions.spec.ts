import { generateIdentityKeyPair } from '../crypto/identity';
import { MemoryStore } from '../storage/memory-store';
import { KeyManager } from './key-manager';
import { SessionStore } from './sessions';
import { Transport } from './transport';

/**
 * Two devices of one account with their own stores. The server is a fake that answers each device's published bundle,
 * the way GET /v1/users/{id}/keys would while both are live.
 */
async function account() {
  const identity = generateIdentityKeyPair();
  const published = new Map<number, any>();
  const live = new Set<number>();
  const transport = (deviceId: number) =>
    ({
      request: async (method: string, path: string, body?: any) => {
        if (method === 'PUT' && path === '/v1/keys') return (published.set(deviceId, body), {});
        if (method === 'GET' && path === '/v1/users/alice/keys')
          return {
            userId: 'alice',
            identityKey: published.get(deviceId)?.identityKey ?? [...published.values()][0].identityKey,
            devices: [...live].map((id) => ({
              deviceId: id,
              signedPreKey: published.get(id).signedPreKey,
              preKey: { ...published.get(id).oneTimePreKeys[0], lastResort: false },
            })),
          };
        throw new Error(`unexpected ${method} ${path}`);
      },
    }) as unknown as Transport;
  const device = async (deviceId: number) => {
    const store = new MemoryStore();
    const keys = new KeyManager(store, transport(deviceId));
    await keys.setIdentity(identity);
    await keys.publishInitialKeys();
    live.add(deviceId);
    const errors: Error[] = [];
    const sessions = new SessionStore(
      store,
      transport(deviceId),
      keys,
      () => ({ userId: 'alice', deviceId }),
      () => undefined,
      (error) => errors.push(error),
    );
    return { sessions, errors };
  };
  return { device, remove: (deviceId: number) => live.delete(deviceId) };
}

describe('SessionStore: which devices of a user we encrypt to', () => {
  it('a late message from a removed device does not make it a recipient again', async () => {
    const alice = await account();
    const phone = await alice.device(1);
    const laptop = await alice.device(2);
    expect(await phone.sessions.devicesOf('alice')).toEqual([{ userId: 'alice', deviceId: 2 }]);
    await laptop.sessions.devicesOf('alice');
    // Sent by the laptop before its removal, read by the phone after it.
    const late = await laptop.sessions.encrypt({ userId: 'alice', deviceId: 1 }, new TextEncoder().encode('key'));

    alice.remove(2);
    await phone.sessions.forgetDevice({ userId: 'alice', deviceId: 2 });
    const opened = await phone.sessions.decrypt(late, { userId: 'alice', deviceId: 2 });
    expect(new TextDecoder().decode(opened.plaintext)).toBe('key');
    expect(await phone.sessions.devicesOf('alice')).toEqual([]);
  });

  it('a device that writes first is learnt, and a pending re-fetch stays pending', async () => {
    const alice = await account();
    const phone = await alice.device(1);
    expect(await phone.sessions.devicesOf('alice')).toEqual([]);
    const tablet = await alice.device(3);
    await tablet.sessions.devicesOf('alice');
    const hello = await tablet.sessions.encrypt({ userId: 'alice', deviceId: 1 }, new Uint8Array([1]));
    await phone.sessions.markDirty('alice');
    await phone.sessions.decrypt(hello, { userId: 'alice', deviceId: 3 });
    // Learnt from its message, and the re-fetch the mark asked for still happens (it finds the same device).
    expect(await phone.sessions.devicesOf('alice')).toEqual([{ userId: 'alice', deviceId: 3 }]);
  });
});
