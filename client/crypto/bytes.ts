/**
 * Byte helpers on Uint8Array only (no Buffer: the core runs unchanged in a browser).
 */
import { InvalidEnvelope } from './errors';

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Constant time in the length of the inputs: no early exit on the first differing byte. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Standard base64 with padding (what the API's IsBase64 accepts). */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return out;
}

/** Strict: rejects bad characters, bad length and non-canonical padding bits. */
export function fromBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new InvalidEnvelope('base64: length not a multiple of 4');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text[i + j];
      const last = i + 4 === text.length;
      const v = c === '=' && last && j >= 4 - pad ? 0 : B64_INDEX.get(c);
      if (v === undefined) throw new InvalidEnvelope('base64: invalid character');
      n = (n << 6) | v;
    }
    const chunk = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    for (const b of chunk) if (o < out.length) out[o++] = b;
    if (i + 4 === text.length && pad > 0 && (n & (pad === 2 ? 0xffff : 0xff)) !== 0) {
      throw new InvalidEnvelope('base64: non-canonical padding');
    }
  }
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Fatal on malformed UTF-8 rather than inserting U+FFFD silently. */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`not a uint32: ${n}`);
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

export function readU32be(bytes: Uint8Array, offset: number): number {
  if (offset + 4 > bytes.length) throw new InvalidEnvelope('truncated integer');
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

/** A cursor over a byte string: every read checks bounds, so truncated input fails as InvalidEnvelope. */
export class ByteReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  u8(): number {
    if (this.offset >= this.bytes.length) throw new InvalidEnvelope('truncated');
    return this.bytes[this.offset++];
  }

  u32(): number {
    const n = readU32be(this.bytes, this.offset);
    this.offset += 4;
    return n;
  }

  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw new InvalidEnvelope('truncated');
    const out = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  /** A string written by `lengthPrefixed`: a u8 length then UTF-8. */
  shortString(): string {
    try {
      return utf8Decode(this.take(this.u8()));
    } catch (e) {
      if (e instanceof InvalidEnvelope) throw e;
      throw new InvalidEnvelope('malformed UTF-8');
    }
  }

  /** Everything not read yet. */
  rest(): Uint8Array {
    const out = this.bytes.slice(this.offset);
    this.offset = this.bytes.length;
    return out;
  }

  get position(): number {
    return this.offset;
  }
}

/** A u8 length then the UTF-8 bytes; ids (uuids, user ids) are short, 255 bytes is plenty. */
export function lengthPrefixed(text: string): Uint8Array {
  const bytes = utf8Encode(text);
  if (bytes.length > 255) throw new RangeError('string longer than 255 bytes');
  return concatBytes(new Uint8Array([bytes.length]), bytes);
}
