/**
 * Conversation membership as this device last heard it: from create/add/remove answers and `members-changed`
 * events; after a catch-up reports changes it is stale and read again from GET /v1/conversations.
 */
import { getJson, KeyValueStore, putJson } from '../storage/key-value-store';
import { ClientStateError } from './errors';
import { Transport } from './transport';

interface MembersRecord {
  memberIds: string[];
  stale: boolean;
}

interface ConversationPage {
  items: Array<{ id: string; memberIds: string[] }>;
  nextCursor: string | null;
}

export class Conversations {
  constructor(
    private readonly store: KeyValueStore,
    private readonly transport: Transport,
  ) {}

  async setMembers(conversationId: string, memberIds: string[]): Promise<void> {
    await putJson(this.store, `conversation/${conversationId}`, { memberIds, stale: false });
  }

  async markStale(conversationId: string): Promise<void> {
    const known = await getJson<MembersRecord>(this.store, `conversation/${conversationId}`);
    await putJson(this.store, `conversation/${conversationId}`, { memberIds: known?.memberIds ?? [], stale: true });
  }

  async members(conversationId: string): Promise<string[]> {
    const known = await getJson<MembersRecord>(this.store, `conversation/${conversationId}`);
    if (known && !known.stale) return known.memberIds;
    await this.refreshAll();
    const fresh = await getJson<MembersRecord>(this.store, `conversation/${conversationId}`);
    if (!fresh || fresh.stale) throw new ClientStateError(`not a member of conversation ${conversationId}`);
    return fresh.memberIds;
  }

  /** Every conversation this account is in, with members (read fresh). */
  async refreshAll(): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?cursor=${encodeURIComponent(cursor)}&limit=100` : '?limit=100';
      const page: ConversationPage = await this.transport.request<ConversationPage>('GET', `/v1/conversations${query}`);
      for (const item of page.items) {
        await this.setMembers(item.id, item.memberIds);
        ids.push(item.id);
      }
      cursor = page.nextCursor;
    } while (cursor);
    return ids;
  }
}
