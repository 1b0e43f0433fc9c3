/**
 * A conversation's history, oldest first, as this device can read it: what it decrypted before comes from its own
 * store (sender-key message keys are single-use), what it has not seen is decrypted now, and the rest (sent before
 * this device joined, after it left, or under a key it never got) is listed flagged `undecryptable`.
 */
import type { MessageView } from '../../common/contracts/realtime-events';
import { Inbox } from './inbox';
import { MessageStore } from './message-store';
import { Transport } from './transport';
import type { ReceivedMessage } from './types';

interface MessagePage {
  items: MessageView[];
  nextCursor: string | null;
}

export class History {
  constructor(
    private readonly transport: Transport,
    private readonly inbox: Inbox,
    private readonly messages: MessageStore,
  ) {}

  async read(conversationId: string): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (let cursor: string | null = '0'; cursor !== null;) {
      const query = new URLSearchParams({ after: cursor, limit: '100' });
      const page: MessagePage = await this.transport.request<MessagePage>(
        'GET',
        `/v1/conversations/${conversationId}/messages?${query}`,
      );
      for (const view of page.items) out.push(await this.one(view));
      cursor = page.items.length === 0 ? null : page.nextCursor;
    }
    return out;
  }

  private async one(view: MessageView): Promise<ReceivedMessage> {
    const known =
      (await this.messages.get(view.conversationId, view.id)) ?? (await this.inbox.conversationMessage(view));
    if (known) return { ...known, sentAt: view.sentAt };
    const failure = await this.messages.failure(view.conversationId, view.id);
    return {
      conversationId: view.conversationId,
      messageId: view.id,
      sender: view.senderId,
      senderDeviceId: view.senderDeviceId,
      text: '',
      sentAt: view.sentAt,
      undecryptable: true,
      error: failure?.code ?? 'NO_SENDER_KEY',
    };
  }
}
