/** Errors the SDK raises: the crypto core's typed errors, plus HTTP failures and SDK state errors. */
export {
  CryptoError,
  UntrustedIdentity,
  NoSession,
  NoSenderKey,
  DecryptionFailed,
  DuplicateMessage,
  InvalidSignature,
  InvalidEnvelope,
} from '../crypto/errors';

/** The server refused a request: its status and its reason (`message` of the error body). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: HTTP ${status} ${reason}`);
    this.name = 'HttpError';
  }
}

/** The call needs something this client does not have yet (an account, a linked device). */
export class ClientStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientStateError';
  }
}
