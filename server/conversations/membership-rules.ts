import { BadRequestException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { MAX_MEMBERS } from './conversations.dto';

/** A conversation's membership as its change transaction sees it, under the conversation's row lock. */
export interface MembershipState {
  adminId: string | null;
  /** Longest-standing first (joined_at, then user id). */
  memberIds: string[];
}

/** What a request changes; empty lists mean nothing to do. */
export interface MembershipPlan {
  added: string[];
  removed: string[];
  adminId: string | null;
}

const notFound = () => new NotFoundException('conversation not found');

/**
 * The admin adds members; users already in are no-ops. Outsiders (and anyone removed meanwhile) get the 404 an
 * unknown conversation gets.
 */
export function planAdd(state: MembershipState, actorId: string, userIds: string[]): MembershipPlan {
  if (!state.memberIds.includes(actorId)) throw notFound();
  if (state.adminId !== actorId) throw new ForbiddenException("only the conversation's admin adds members");
  const added = [...new Set(userIds)].filter((id) => !state.memberIds.includes(id));
  if (state.memberIds.length + added.length > MAX_MEMBERS)
    throw new BadRequestException(`a conversation has at most ${MAX_MEMBERS} members`);
  return { added, removed: [], adminId: state.adminId };
}

/**
 * Any member may leave; only the admin removes others, so nobody else can remove the admin. When the admin leaves,
 * the longest-standing remaining member becomes admin: a group keeps someone who can add members, and everyone
 * can tell who that is without a vote.
 */
export function planRemove(state: MembershipState, actorId: string, userId: string): MembershipPlan {
  if (!state.memberIds.includes(actorId)) throw notFound();
  if (!state.memberIds.includes(userId)) throw new NotFoundException('not a member of this conversation');
  if (userId !== actorId && state.adminId !== actorId)
    throw new ForbiddenException("only the conversation's admin removes others; a member may remove themself");
  const remaining = state.memberIds.filter((id) => id !== userId);
  const adminId = state.adminId === userId ? (remaining[0] ?? null) : state.adminId;
  return { added: [], removed: [userId], adminId };
}
