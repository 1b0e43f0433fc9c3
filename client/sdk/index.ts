/** The Cyphr client SDK: runs unchanged in Node and browsers. */
export { MessengerClient } from './messenger-client';
export type { ClientOptions, ReceivedMessage, DeviceSummary, WebSocketConstructor, WebSocketLike } from './types';
export * from './errors';
export type { KeyValueStore } from '../storage/key-value-store';
export { MemoryStore } from '../storage/memory-store';
export type { MessageView } from '../../common/contracts/realtime-events';
