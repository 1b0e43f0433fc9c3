import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { ConversationListIndex1764000100000 } from './1764000100000-conversation-list-index';
import { LeastPrivilegeGrants1764000200000 } from './1764000200000-least-privilege-grants';
import { LastResortPrekeys1764000310000 } from './1764000310000-last-resort-prekeys';
import { Devices1764000400000 } from './1764000400000-devices';
import { OneTimePrekeysPerDevice1764000400500 } from './1764000400500-one-time-prekeys-per-device';
import { MessageIdempotencyPerConversation1764000320000 } from './1764000320000-message-idempotency-per-conversation';
import { MembershipChanges1764000420000 } from './1764000420000-membership-changes';

/** In order. A new migration is a new file here, never an edit of a shipped one. */
export const MIGRATIONS = [
  InitialSchema1764000000000,
  ConversationListIndex1764000100000,
  LeastPrivilegeGrants1764000200000,
  LastResortPrekeys1764000310000,
  MessageIdempotencyPerConversation1764000320000,
  Devices1764000400000,
  OneTimePrekeysPerDevice1764000400500,
  MembershipChanges1764000420000,
];
