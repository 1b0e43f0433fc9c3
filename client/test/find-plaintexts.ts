import { randomInt } from 'node:crypto';

/**
 * Searches what was captured at the protocol boundaries for known plaintexts, in the encodings a slip would leave
 * them in: the UTF-8 text itself, base64 (standard and URL-safe) of its bytes, and hex (either case) of its bytes.
 * Base64 is searched at all three byte alignments, so a plaintext embedded at any offset of a larger encoded buffer
 * is still found (only the characters that depend on the neighbouring bytes are left out of the needle).
 */

/** One thing captured at a boundary: where it came from and its raw bytes. */
export interface Captured {
  /** e.g. `sqs request SendMessage`, `redis publish user:…`, `pg primary`, `log api-0`. */
  source: string;
  data: Buffer;
}

export type Encoding = 'utf8' | 'base64' | 'base64url' | 'hex';

export interface Finding {
  /** Index into the plaintexts searched for. */
  plaintext: number;
  encoding: Encoding;
  source: string;
  /** Byte offset in the capture. */
  offset: number;
  /** A few characters around the hit, for the failure message. */
  context: string;
}

interface Needle {
  encoding: Encoding;
  bytes: Buffer;
}

/** Base64 of `bytes` as it appears inside a larger buffer where `bytes` starts at `shift` (0..2) modulo 3. */
function base64Interior(bytes: Buffer, shift: number): string {
  const encoded = Buffer.concat([Buffer.alloc(shift), bytes])
    .toString('base64')
    .replace(/=+$/, '');
  // The first group mixes `shift` foreign bytes in; the last group, unless complete, mixes in what follows.
  const head = shift === 0 ? 0 : 4;
  const tail = (shift + bytes.length) % 3 === 0 ? encoded.length : Math.floor((shift + bytes.length) / 3) * 4;
  return encoded.slice(head, tail);
}

export function needlesFor(plaintext: string): Needle[] {
  const bytes = Buffer.from(plaintext, 'utf8');
  const needles: Needle[] = [{ encoding: 'utf8', bytes }];
  for (const shift of [0, 1, 2]) {
    const interior = base64Interior(bytes, shift);
    // Too short an interior would match by chance; the plaintexts under test are far longer.
    if (interior.length < 16) continue;
    needles.push({ encoding: 'base64', bytes: Buffer.from(interior) });
    const urlSafe = interior.replace(/\+/g, '-').replace(/\//g, '_');
    if (urlSafe !== interior) needles.push({ encoding: 'base64url', bytes: Buffer.from(urlSafe) });
  }
  const hex = bytes.toString('hex');
  needles.push(
    { encoding: 'hex', bytes: Buffer.from(hex) },
    { encoding: 'hex', bytes: Buffer.from(hex.toUpperCase()) },
  );
  return needles;
}

function contextAround(data: Buffer, offset: number, length: number): string {
  const start = Math.max(0, offset - 40);
  return data
    .subarray(start, Math.min(data.length, offset + length + 40))
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '.');
}

/** Every place any of the plaintexts occurs, in any of the encodings; empty when none does. */
export function findPlaintexts(captures: Captured[], plaintexts: string[]): Finding[] {
  const findings: Finding[] = [];
  plaintexts.forEach((plaintext, index) => {
    for (const needle of needlesFor(plaintext)) {
      for (const capture of captures) {
        for (let at = capture.data.indexOf(needle.bytes); at >= 0; at = capture.data.indexOf(needle.bytes, at + 1)) {
          findings.push({
            plaintext: index,
            encoding: needle.encoding,
            source: capture.source,
            offset: at,
            context: contextAround(capture.data, at, needle.bytes.length),
          });
        }
      }
    }
  });
  return findings;
}

/** Distinct random words ("tobakumi"), so a plaintext of a few of them cannot occur anywhere by chance. */
export function randomWords(count: number, random: () => number = () => randomInt(2 ** 32) / 2 ** 32): string {
  const consonants = 'bdfghjklmnprstvz';
  const vowels = 'aeiou';
  const pick = (alphabet: string) => alphabet[Math.floor(random() * alphabet.length)];
  return Array.from({ length: count }, () =>
    Array.from({ length: 2 + Math.floor(random() * 3) }, () => pick(consonants) + pick(vowels)).join(''),
  ).join(' ');
}
