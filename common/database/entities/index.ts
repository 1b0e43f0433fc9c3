import { DeviceMessageEntity } from './device-message.entity';
import { DeviceEntity } from './device.entity';
import { MembershipChangeEntity } from './membership-change.entity';
import { ConversationMemberEntity } from './conversation-member.entity';
import { ConversationEntity } from './conversation.entity';
import { KeyBundleEntity } from './key-bundle.entity';
import { MessageEntity } from './message.entity';
import { OneTimePreKeyEntity } from './one-time-prekey.entity';
import { UserEntity } from './user.entity';

export {
  ConversationMemberEntity,
  ConversationEntity,
  KeyBundleEntity,
  MessageEntity,
  OneTimePreKeyEntity,
  DeviceEntity,
  DeviceMessageEntity,
  MembershipChangeEntity,
  UserEntity,
};

export const ENTITIES = [
  UserEntity,
  DeviceEntity,
  KeyBundleEntity,
  OneTimePreKeyEntity,
  ConversationEntity,
  ConversationMemberEntity,
  MessageEntity,
  MembershipChangeEntity,
  DeviceMessageEntity,
];
