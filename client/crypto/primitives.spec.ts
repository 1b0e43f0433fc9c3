import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { concatBytes, equalBytes, fromBase64, toBase64, utf8Decode, utf8Encode } from './bytes';
import { DecryptionFailed } from './errors';
import {
  aeadDecrypt,
  aeadEncrypt,
  dh,
  ed25519PublicKey,
  hkdf,
  openWithMessageKey,
  randomBytes,
  sealWithMessageKey,
  sign,
  verify,
  x25519PublicKey,
} from './primitives';

const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('published vectors through our wrappers', () => {
  it.each([
    [
      'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
      'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
      'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
    ],
    [
      '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
      'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
      '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
    ],
  ])('RFC 7748 §5.2 X25519 scalar multiplication %#', (scalar, u, out) => {
    expect(bytesToHex(dh(hexToBytes(scalar), hexToBytes(u)))).toBe(out);
  });

  it('RFC 7748 §6.1 Diffie-Hellman', () => {
    const alicePriv = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobPriv = hexToBytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alicePub = x25519PublicKey(alicePriv);
    const bobPub = x25519PublicKey(bobPriv);
    expect(bytesToHex(alicePub)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(bytesToHex(bobPub)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(bytesToHex(dh(alicePriv, bobPub))).toBe(shared);
    expect(bytesToHex(dh(bobPriv, alicePub))).toBe(shared);
  });

  it('refuses a low-order X25519 public key (all-zero shared secret)', () => {
    expect(() => dh(randomBytes(32), new Uint8Array(32))).toThrow(DecryptionFailed);
  });

  it.each([
    [
      '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      '',
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    ],
    [
      '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      '72',
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    ],
    [
      'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      'af82',
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    ],
  ])('RFC 8032 §7.1 Ed25519 test %#', (seed, pub, msg, sig) => {
    const message = hexToBytes(msg);
    expect(bytesToHex(ed25519PublicKey(hexToBytes(seed)))).toBe(pub);
    expect(bytesToHex(sign(hexToBytes(seed), message))).toBe(sig);
    expect(verify(hexToBytes(pub), message, hexToBytes(sig))).toBe(true);
    const forged = hexToBytes(sig);
    forged[0] ^= 1;
    expect(verify(hexToBytes(pub), message, forged)).toBe(false);
    expect(verify(hexToBytes(pub), concatBytes(message, new Uint8Array([0])), hexToBytes(sig))).toBe(false);
  });

  it.each([
    [
      'A.1',
      new Uint8Array(22).fill(0x0b),
      range(0x00, 0x0c),
      range(0xf0, 0xf9),
      42,
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    ],
    [
      'A.2',
      range(0x00, 0x4f),
      range(0x60, 0xaf),
      range(0xb0, 0xff),
      82,
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
    ],
    [
      'A.3',
      new Uint8Array(22).fill(0x0b),
      new Uint8Array(0),
      new Uint8Array(0),
      42,
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    ],
  ])('RFC 5869 %s HKDF-SHA256', (_name, ikm, salt, info, length, okm) => {
    expect(bytesToHex(hkdf(ikm, salt, info, length))).toBe(okm);
  });
});

describe('AEAD', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const ad = utf8Encode('header');

  it('round-trips and rejects any change to ciphertext, key or associated data', () => {
    const ct = aeadEncrypt(key, nonce, utf8Encode('hello'), ad);
    expect(utf8Decode(aeadDecrypt(key, nonce, ct, ad))).toBe('hello');
    const flipped = ct.slice();
    flipped[0] ^= 1;
    expect(() => aeadDecrypt(key, nonce, flipped, ad)).toThrow(DecryptionFailed);
    expect(() => aeadDecrypt(randomBytes(32), nonce, ct, ad)).toThrow(DecryptionFailed);
    expect(() => aeadDecrypt(key, nonce, ct, utf8Encode('other'))).toThrow(DecryptionFailed);
  });

  it('separates message-key uses by label', () => {
    const mk = randomBytes(32);
    const ct = sealWithMessageKey(mk, 'ratchet', utf8Encode('x'), ad);
    expect(utf8Decode(openWithMessageKey(mk, 'ratchet', ct, ad))).toBe('x');
    expect(() => openWithMessageKey(mk, 'group', ct, ad)).toThrow(DecryptionFailed);
  });
});

describe('bytes', () => {
  it('base64 matches the platform encoder and round-trips every length', () => {
    for (let n = 0; n < 40; n++) {
      const data = randomBytes(n);
      const text = toBase64(data);
      expect(text).toBe(btoa(String.fromCharCode(...data)));
      expect(equalBytes(fromBase64(text), data)).toBe(true);
    }
  });

  it('base64 decoding is strict', () => {
    for (const bad of ['abc', 'ab!d', 'AB==AB==', 'AB=C', 'AR==']) expect(() => fromBase64(bad)).toThrow();
  });

  it('equalBytes compares content and length', () => {
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });
});
