import { generateIdentityKeyPair } from '../crypto/identity';
import { isValidPreKeySignature } from '../crypto/prekeys';
import { MemoryStore } from '../storage/memory-store';
import { KeyManager, ONE_TIME_PREKEY_BATCH, SIGNED_PREKEY_ROTATION_MS } from './key-manager';
import { Transport } from './transport';

/** Records uploads; GET /v1/keys answers `count`. */
function fakeTransport(count: { value: number }) {
  const uploads: any[] = [];
  const transport = {
    request: async (method: string, path: string, body?: any) => {
      if (method === 'PUT' && path === '/v1/keys') return (uploads.push(body), {});
      if (method === 'GET' && path === '/v1/keys') return { oneTimePreKeyCount: count.value };
      throw new Error(`unexpected ${method} ${path}`);
    },
  } as unknown as Transport;
  return { transport, uploads };
}

describe('KeyManager', () => {
  it('publishes signed prekeys under the identity key and 100 one-time prekeys, with the identity key', async () => {
    const { transport, uploads } = fakeTransport({ value: 100 });
    const keys = new KeyManager(new MemoryStore(), transport);
    const identity = generateIdentityKeyPair();
    await keys.setIdentity(identity);
    await keys.publishInitialKeys();
    expect(uploads).toHaveLength(1);
    const [upload] = uploads;
    expect(upload.identityKey).toBe(keys.identityPublicKey());
    expect(upload.oneTimePreKeys).toHaveLength(ONE_TIME_PREKEY_BATCH);
    for (const signed of [upload.signedPreKey, upload.lastResortKey]) {
      expect(isValidPreKeySignature(identity.publicKey, signed.publicKey, signed.signature)).toBe(true);
    }
    // Nothing private goes to the server.
    expect(JSON.stringify(upload)).not.toContain('privateKey');
  });

  it('refills with fresh ids only when the server says few are left, and forgets a used one-time prekey', async () => {
    const count = { value: 50 };
    const { transport, uploads } = fakeTransport(count);
    const keys = new KeyManager(new MemoryStore(), transport);
    await keys.setIdentity(generateIdentityKeyPair());
    await keys.publishInitialKeys();
    expect(await keys.refillIfLow()).toBe(false);
    count.value = 3;
    expect(await keys.refillIfLow()).toBe(true);
    const ids = uploads[1].oneTimePreKeys.map((k: { keyId: number }) => k.keyId);
    expect(ids[0]).toBe(ONE_TIME_PREKEY_BATCH + 1);
    expect(uploads[1].identityKey).toBeUndefined();
    const local = await keys.localPreKeys();
    expect(local.oneTimePreKey(1)).toBeDefined();
    expect(local.oneTimePreKey(ids[0])).toBeDefined();
    await keys.consumeOneTimePreKey(1);
    expect((await keys.localPreKeys()).oneTimePreKey(1)).toBeUndefined();
  });

  it('rotates the signed prekey after a week and still opens PreKey messages built on the previous one', async () => {
    let now = 1_000_000;
    const { transport, uploads } = fakeTransport({ value: 100 });
    const keys = new KeyManager(new MemoryStore(), transport, () => now);
    await keys.setIdentity(generateIdentityKeyPair());
    await keys.publishInitialKeys();
    expect(await keys.rotateSignedPreKeyIfDue()).toBe(false);
    now += SIGNED_PREKEY_ROTATION_MS;
    expect(await keys.rotateSignedPreKeyIfDue()).toBe(true);
    expect(uploads[1].signedPreKey.keyId).toBe(2);
    const local = await keys.localPreKeys();
    expect(local.signedPreKey(1)).toBeDefined();
    expect(local.signedPreKey(2)).toBeDefined();
  });
});
