/**
 * Catch-up after being offline (`sync`): GET /v1/sync from the stored position, then the device mailbox (in order,
 * acknowledged after processing), then each reported conversation's new messages from `pageFrom`, skipping what was
 * handled already. Conversation message ids are acknowledged too, so their senders get `delivered`.
 */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import type { MessageView } from '../../common/contracts/realtime-events';
import { MAX_ACK_IDS } from '../../common/contracts/realtime-events';
import { Conversations } from './conversations';
import { HttpError } from './errors';
import { Inbox, MailboxItem } from './inbox';
import { Transport } from './transport';
import type { ReceivedMessage } from './types';

const SINCE_KEY = 'sync/since';

export interface MembershipChange {
  conversationId: string;
  userId: string;
  change: 'added' | 'removed';
}

interface SyncAnswer {
  conversations: Array<{ id: string; pageFrom: string }>;
  membershipChanges: MembershipChange[];
  nextSince: string;
  hasMore: boolean;
}

interface MessagePage {
  items: MessageView[];
  nextCursor: string | null;
}

export class CatchUp {
  constructor(
    private readonly store: KeyValueStore,
    private readonly transport: Transport,
    private readonly inbox: Inbox,
    private readonly conversations: Conversations,
    private readonly linked: () => boolean,
    /** A membership change we were offline for (the live `members-changed` missed). */
    private readonly onMembershipChange: (change: MembershipChange) => Promise<void>,
  ) {}

  async run(): Promise<ReceivedMessage[]> {
    const out = await this.mailbox();
    // A device without the identity key reads nothing yet: keep the position for after the link.
    if (!this.linked()) return out;
    for (;;) {
      const since = await getJson<string>(this.store, SINCE_KEY);
      const answer = await this.transport.request<SyncAnswer>(
        'GET',
        `/v1/sync${since ? `?${new URLSearchParams({ since })}` : ''}`,
      );
      for (const change of answer.membershipChanges) {
        await this.conversations.markStale(change.conversationId);
        await this.onMembershipChange(change);
      }
      for (const conversation of answer.conversations) {
        try {
          out.push(...(await this.conversation(conversation.id, conversation.pageFrom)));
        } catch (e) {
          // Removed from it since the sync answered: nothing more to read there.
          if (!(e instanceof HttpError && e.status === 404)) throw e;
        }
      }
      await putJson(this.store, SINCE_KEY, answer.nextSince);
      if (!answer.hasMore) return out;
    }
  }

  /** The device mailbox, oldest first, a page at a time, acknowledged page by page. */
  async mailbox(): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (;;) {
      const page = await this.transport.request<{ items: MailboxItem[]; more: boolean }>(
        'GET',
        '/v1/devices/messages?limit=100',
      );
      for (const item of page.items) out.push(...(await this.inbox.deviceMessage(item)));
      await this.ack(page.items.map((item) => item.id));
      if (!page.more || page.items.length === 0) return out;
    }
  }

  private async conversation(conversationId: string, pageFrom: string): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (let cursor: string | null = pageFrom; cursor !== null;) {
      const query = new URLSearchParams({ after: cursor, limit: '100' });
      const page: MessagePage = await this.transport.request<MessagePage>(
        'GET',
        `/v1/conversations/${conversationId}/messages?${query}`,
      );
      const decrypted = [];
      for (const view of page.items) {
        const message = await this.inbox.conversationMessage(view);
        if (message) decrypted.push(message);
      }
      await this.ack(decrypted.map((m) => m.messageId));
      out.push(...decrypted);
      cursor = page.items.length === 0 ? null : page.nextCursor;
    }
    return out;
  }

  async ack(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += MAX_ACK_IDS) {
      await this.transport.request('POST', '/v1/devices/messages/ack', { ids: ids.slice(i, i + MAX_ACK_IDS) });
    }
  }
}
