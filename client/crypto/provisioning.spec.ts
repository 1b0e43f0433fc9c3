import { DecryptionFailed, InvalidSignature } from './errors';
import { generateIdentityKeyPair, serializeIdentityKeyPair } from './identity';
import {
  createProvisioningRequest,
  openProvisioning,
  provisioningCode,
  provisioningCodeMatches,
  sealProvisioning,
} from './provisioning';

describe('provisioning a new device', () => {
  const payload = {
    userId: 'alice',
    identity: serializeIdentityKeyPair(generateIdentityKeyPair()),
    trustedIdentities: { bob: 'AAAA' },
  };

  it('round trip: the new device shows a code, the existing device checks it and encrypts, the new device opens', () => {
    const { request, publicKey, code } = createProvisioningRequest();
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const typed = code.toLowerCase().replace(/-/g, ' ');
    const message = sealProvisioning({ newDevicePublicKey: publicKey, enteredCode: typed, payload });
    expect(openProvisioning(JSON.parse(JSON.stringify(request)), message)).toEqual(payload);
  });

  it('refuses a key whose code the user did not confirm (a server-substituted key)', () => {
    const genuine = createProvisioningRequest();
    const attacker = createProvisioningRequest();
    expect(provisioningCodeMatches(attacker.publicKey, genuine.code)).toBe(false);
    expect(() =>
      sealProvisioning({ newDevicePublicKey: attacker.publicKey, enteredCode: genuine.code, payload }),
    ).toThrow(InvalidSignature);
    expect(provisioningCode(genuine.publicKey)).toBe(genuine.code);
  });

  it('fails with the wrong key, tampering or other associated data', () => {
    const { publicKey, code, request } = createProvisioningRequest();
    const message = sealProvisioning({
      newDevicePublicKey: publicKey,
      enteredCode: code,
      payload,
      ad: new Uint8Array([1]),
    });
    expect(() => openProvisioning(createProvisioningRequest().request, message, new Uint8Array([1]))).toThrow(
      DecryptionFailed,
    );
    const tampered = message.slice();
    tampered[tampered.length - 1] ^= 1;
    expect(() => openProvisioning(request, tampered, new Uint8Array([1]))).toThrow(DecryptionFailed);
    expect(() => openProvisioning(request, message, new Uint8Array([2]))).toThrow(DecryptionFailed);
    expect(openProvisioning(request, message, new Uint8Array([1])).userId).toBe('alice');
  });
});
