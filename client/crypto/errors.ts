/**
 * Typed errors of the cryptography core. Each has a stable `code` so the SDK (and a CLI's JSON output) can branch on
 * it without string matching; messages are for people and may change.
 */
export type CryptoErrorCode =
  | 'UNTRUSTED_IDENTITY'
  | 'NO_SESSION'
  | 'NO_SENDER_KEY'
  | 'DECRYPTION_FAILED'
  | 'DUPLICATE_MESSAGE'
  | 'INVALID_SIGNATURE'
  | 'INVALID_ENVELOPE';

export abstract class CryptoError extends Error {
  abstract readonly code: CryptoErrorCode;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A user's identity key differs from the one we know; the caller must decide to trust the new one. */
export class UntrustedIdentity extends CryptoError {
  readonly code = 'UNTRUSTED_IDENTITY' as const;

  constructor(
    readonly userId: string,
    /** The key we knew, base64. */
    readonly knownIdentityKey: string,
    /** The key now presented, base64. */
    readonly newIdentityKey: string,
  ) {
    super(`identity key of user ${userId} changed`);
  }
}

export class NoSession extends CryptoError {
  readonly code = 'NO_SESSION' as const;
}

/** A group message under a sender key we do not hold (never distributed to us, or rotated past us). */
export class NoSenderKey extends CryptoError {
  readonly code = 'NO_SENDER_KEY' as const;
}

export class DecryptionFailed extends CryptoError {
  readonly code = 'DECRYPTION_FAILED' as const;
}

/** The message key was already used (a replay or a duplicate delivery), or was evicted from the bounded store. */
export class DuplicateMessage extends CryptoError {
  readonly code = 'DUPLICATE_MESSAGE' as const;
}

export class InvalidSignature extends CryptoError {
  readonly code = 'INVALID_SIGNATURE' as const;
}

export class InvalidEnvelope extends CryptoError {
  readonly code = 'INVALID_ENVELOPE' as const;
}
