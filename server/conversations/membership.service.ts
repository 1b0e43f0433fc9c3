import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { RealtimePublisher } from '../realtime/realtime-publisher.service';
import { UsersRepository } from '../users/users.repository';
import { MembersView } from './conversations.dto';
import { ConversationsService } from './conversations.service';
import { planAdd, planRemove } from './membership-rules';
import { MembershipOutcome, MembershipRepository } from './membership.repository';

/** Adding and removing members (rules in membership-rules.ts), and telling everyone concerned. */
@Injectable()
export class MembershipService {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly membership: MembershipRepository,
    private readonly users: UsersRepository,
    private readonly realtime: RealtimePublisher,
  ) {}

  async add(actorId: string, conversationId: string, userIds: string[]): Promise<MembersView> {
    await this.conversations.requireMember(conversationId, actorId);
    const wanted = [...new Set(userIds.map((id) => id.toLowerCase()))];
    const existing = await this.users.existing(wanted);
    const unknown = wanted.filter((id) => !existing.has(id));
    if (unknown.length > 0) throw new BadRequestException(`unknown users: ${unknown.join(', ')}`);
    const outcome = await this.membership.change(conversationId, actorId, (state) => planAdd(state, actorId, wanted));
    return this.announce(conversationId, actorId, outcome);
  }

  /** The admin removes anyone; anyone removes themself (leaves). */
  async remove(actorId: string, conversationId: string, userId: string): Promise<MembersView> {
    await this.conversations.requireMember(conversationId, actorId);
    const target = userId.toLowerCase();
    const outcome = await this.membership.change(conversationId, actorId, (state) =>
      planRemove(state, actorId, target),
    );
    return this.announce(conversationId, actorId, outcome);
  }

  private async announce(
    conversationId: string,
    actorId: string,
    outcome: MembershipOutcome | undefined,
  ): Promise<MembersView> {
    if (!outcome) throw new NotFoundException('conversation not found');
    const { added, removed, memberIds, membershipVersion } = outcome;
    if (added.length > 0 || removed.length > 0)
      await this.realtime.publish([...outcome.previousMemberIds, ...added], {
        type: 'members-changed',
        conversationId,
        memberIds,
        added,
        removed,
        by: actorId,
        membershipVersion,
      });
    return { conversationId, memberIds, adminId: outcome.adminId, membershipVersion };
  }
}
