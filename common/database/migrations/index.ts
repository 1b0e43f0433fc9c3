import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { ConversationListIndex1764000100000 } from './1764000100000-conversation-list-index';
import { LeastPrivilegeGrants1764000200000 } from './1764000200000-least-privilege-grants';

/** In order. A new migration is a new file here, never an edit of a shipped one. */
export const MIGRATIONS = [
  InitialSchema1764000000000,
  ConversationListIndex1764000100000,
  LeastPrivilegeGrants1764000200000,
];
