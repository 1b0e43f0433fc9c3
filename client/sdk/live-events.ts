/** What the socket delivers, applied to the client's state: messages, mailbox items, membership and key changes. */
import type { MessageView } from '../../common/contracts/realtime-events';
import { Conversations } from './conversations';
import { Inbox, MailboxItem } from './inbox';
import { KeyManager } from './key-manager';
import { SenderKeys } from './sender-keys';
import { SessionStore } from './sessions';
import type { ServerFrame } from './socket';
import type { ReceivedMessage } from './types';

export interface LiveOutput {
  selfUserId(): string;
  /** Acknowledges mailbox items and conversation messages on the socket. */
  ack(ids: string[]): void;
  message(message: ReceivedMessage): void;
}

export class LiveEvents {
  constructor(
    private readonly inbox: Inbox,
    private readonly conversations: Conversations,
    private readonly sessions: SessionStore,
    private readonly senderKeys: SenderKeys,
    private readonly keys: KeyManager,
  ) {}

  async handle(frame: ServerFrame, out: LiveOutput): Promise<void> {
    switch (frame.type) {
      case 'message': {
        const message = await this.inbox.conversationMessage(frame.message as MessageView);
        if (!message) return;
        out.ack([message.messageId]);
        out.message(message);
        return;
      }
      case 'device-message': {
        const released = await this.inbox.deviceMessage(frame as unknown as MailboxItem);
        out.ack([frame.id as string, ...released.map((m) => m.messageId)]);
        released.forEach((m) => out.message(m));
        return;
      }
      case 'members-changed': {
        const memberIds = frame.memberIds as string[];
        const conversationId = frame.conversationId as string;
        if (memberIds.includes(out.selfUserId())) return this.conversations.setMembers(conversationId, memberIds);
        await this.conversations.markStale(conversationId);
        return this.senderKeys.forget(conversationId);
      }
      case 'devices-changed':
      case 'device-added':
        return this.sessions.markDirty(frame.userId as string);
      case 'identity-changed':
        return this.sessions.noteIdentity(frame.userId as string, frame.identityKey as string);
      case 'prekeys-low':
        if (this.keys.hasIdentity) await this.keys.refillOneTimePreKeys();
        return;
      default:
        return;
    }
  }
}
