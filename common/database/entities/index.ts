import { ConversationMemberEntity } from './conversation-member.entity';
import { ConversationEntity } from './conversation.entity';
import { KeyBundleEntity } from './key-bundle.entity';
import { MessageEntity } from './message.entity';
import { OneTimePreKeyEntity } from './one-time-prekey.entity';
import { SessionEntity } from './session.entity';
import { UserEntity } from './user.entity';

export {
  ConversationMemberEntity,
  ConversationEntity,
  KeyBundleEntity,
  MessageEntity,
  OneTimePreKeyEntity,
  SessionEntity,
  UserEntity,
};

export const ENTITIES = [
  UserEntity,
  SessionEntity,
  KeyBundleEntity,
  OneTimePreKeyEntity,
  ConversationEntity,
  ConversationMemberEntity,
  MessageEntity,
];
