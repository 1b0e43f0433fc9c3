import type { KeyValueStore } from '../storage/key-value-store';

/** The slice of the WebSocket API the SDK uses: the browser's `WebSocket` and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface ClientOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:3001. */
  server: string;
  /** Where tokens, keys and sessions live. Key material never leaves it except encrypted to the account's devices. */
  store: KeyValueStore;
  /** The browser's `WebSocket`, or the `ws` package's in Node. */
  webSocket: WebSocketConstructor;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

export interface ReceivedMessage {
  conversationId: string;
  messageId: string;
  /** The sender's user id. */
  sender: string;
  senderDeviceId: number;
  text: string;
  sentAt: string;
  /** History only: the message could not be decrypted here (sent before this device joined, or after it left). */
  undecryptable?: true;
  /** With `undecryptable`: the typed error's code (e.g. NO_SENDER_KEY). */
  error?: string;
}

export interface DeviceSummary {
  id: number;
  name: string;
  current: boolean;
}
