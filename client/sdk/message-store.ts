/**
 * Decrypted messages as this device keeps them. Sender-key message keys are used once, so history is read from here:
 * the server's copy can no longer be decrypted once it was. Also keeps messages waiting for their sender key and
 * those that failed for good, so catch-up skips what it has already handled.
 */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import type { MessageView } from '../../common/contracts/realtime-events';
import type { ReceivedMessage } from './types';

interface FailedRecord {
  view: MessageView;
  code: string;
}

export class MessageStore {
  constructor(private readonly store: KeyValueStore) {}

  get(conversationId: string, messageId: string): Promise<ReceivedMessage | undefined> {
    return getJson<ReceivedMessage>(this.store, `message/${conversationId}/${messageId}`);
  }

  async save(message: ReceivedMessage): Promise<void> {
    await putJson(this.store, `message/${message.conversationId}/${message.messageId}`, message);
    await this.store.delete(`pending/${message.conversationId}/${message.messageId}`);
  }

  /** Handled already (decrypted, or failed for good): catch-up skips it. */
  async handled(conversationId: string, messageId: string): Promise<boolean> {
    return (
      (await this.store.get(`message/${conversationId}/${messageId}`)) !== undefined ||
      (await this.store.get(`failed/${conversationId}/${messageId}`)) !== undefined
    );
  }

  failure(conversationId: string, messageId: string): Promise<FailedRecord | undefined> {
    return getJson<FailedRecord>(this.store, `failed/${conversationId}/${messageId}`);
  }

  async fail(view: MessageView, code: string): Promise<void> {
    await putJson(this.store, `failed/${view.conversationId}/${view.id}`, { view, code });
    await this.store.delete(`pending/${view.conversationId}/${view.id}`);
  }

  /** Decrypted while the app was not listening (a mailbox pass before a send): the next sync returns them. */
  async hold(messages: ReceivedMessage[]): Promise<void> {
    for (const m of messages) await putJson(this.store, `held/${m.conversationId}/${m.messageId}`, m);
  }

  async takeHeld(): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (const key of await this.store.list('held/')) {
      const message = await getJson<ReceivedMessage>(this.store, key);
      if (message) out.push(message);
      await this.store.delete(key);
    }
    return out.sort((a, b) => (a.sentAt < b.sentAt ? -1 : a.sentAt > b.sentAt ? 1 : 0));
  }

  /** Arrived before its sender key: retried when a key from that sender device arrives. */
  async park(view: MessageView): Promise<void> {
    await putJson(this.store, `pending/${view.conversationId}/${view.id}`, view);
  }

  async parked(conversationId: string): Promise<MessageView[]> {
    const keys = await this.store.list(`pending/${conversationId}/`);
    const views = await Promise.all(keys.map((key) => getJson<MessageView>(this.store, key)));
    return views.filter((v): v is MessageView => !!v).sort((a, b) => compareSeq(a.seq, b.seq));
  }
}

export function compareSeq(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
