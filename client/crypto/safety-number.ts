/**
 * Safety numbers: libsignal's NumericFingerprintGenerator (version 0, 5200 iterations) over our Ed25519 identity
 * keys, with the user id as the stable identifier.
 *
 *   h_0 = version (u16 = 0) || identityKey || userId;   h_{i+1} = SHA-512(h_i || identityKey), 5200 times
 *   each side: the first 30 bytes as six 5-byte big-endian numbers, each mod 100000 as 5 digits = 30 digits
 *   displayed: the two 30-digit halves in sorted order = 60 digits, the same on both devices
 *
 * Comparing them (read aloud or side by side) detects a server that substituted an identity key.
 */
import { concatBytes, equalBytes, utf8Encode } from './bytes';
import { sha512 } from './primitives';

export const SAFETY_NUMBER_ITERATIONS = 5200;
const VERSION = new Uint8Array([0, 0]);

export interface SafetyNumberParty {
  userId: string;
  /** Ed25519 identity public key (32 bytes). */
  identityKey: Uint8Array;
}

function fingerprintDigits(party: SafetyNumberParty, iterations: number): string {
  let hash = concatBytes(VERSION, party.identityKey, utf8Encode(party.userId));
  for (let i = 0; i < iterations; i++) hash = sha512(concatBytes(hash, party.identityKey));
  let digits = '';
  for (let offset = 0; offset < 30; offset += 5) {
    // 40-bit chunk: exact in a double (< 2^53).
    let chunk = 0;
    for (let j = 0; j < 5; j++) chunk = chunk * 256 + hash[offset + j];
    digits += String(chunk % 100000).padStart(5, '0');
  }
  return digits;
}

/** 60 digits, symmetric: safetyNumber(a, b) === safetyNumber(b, a). */
export function safetyNumber(
  local: SafetyNumberParty,
  remote: SafetyNumberParty,
  iterations = SAFETY_NUMBER_ITERATIONS,
): string {
  const mine = fingerprintDigits(local, iterations);
  const theirs = fingerprintDigits(remote, iterations);
  return mine <= theirs ? mine + theirs : theirs + mine;
}

/** Twelve groups of five digits, as apps show them. */
export function formatSafetyNumber(digits: string): string {
  return digits.replace(/(\d{5})(?=\d)/g, '$1 ');
}

/** Compares two safety numbers, ignoring spacing, without an early exit. */
export function safetyNumbersMatch(a: string, b: string): boolean {
  const norm = (s: string) => utf8Encode(s.replace(/\s+/g, ''));
  return equalBytes(norm(a), norm(b));
}
