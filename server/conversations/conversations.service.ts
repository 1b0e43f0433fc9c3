import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { UsersRepository } from '../users/users.repository';
import { ConversationPage, ConversationView, CreateConversationDto, MAX_MEMBERS } from './conversations.dto';
import { ConversationsRepository } from './conversations.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function encodeCursor(position: { joinedAt: string; id: string }): string {
  return Buffer.from(JSON.stringify([position.joinedAt, position.id])).toString('base64url');
}

function decodeCursor(cursor: string): { joinedAt: string; id: string } {
  try {
    const [joinedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof joinedAt === 'string' && !Number.isNaN(Date.parse(joinedAt)) && typeof id === 'string' && UUID.test(id))
      return { joinedAt, id };
  } catch {
    // fall through
  }
  throw new BadRequestException('cursor is not valid');
}

@Injectable()
export class ConversationsService {
  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly users: UsersRepository,
  ) {}

  async create(creatorId: string, input: CreateConversationDto): Promise<ConversationView> {
    const memberIds = [
      creatorId,
      ...input.memberIds.map((id) => id.toLowerCase()).filter((id) => id !== creatorId.toLowerCase()),
    ];
    if (memberIds.length < 2) throw new BadRequestException('memberIds must name at least one other user');
    if (memberIds.length > MAX_MEMBERS)
      throw new BadRequestException(`a conversation has at most ${MAX_MEMBERS} members`);
    const existing = await this.users.existing(memberIds);
    const unknown = memberIds.filter((id) => !existing.has(id));
    if (unknown.length > 0) throw new BadRequestException(`unknown users: ${unknown.join(', ')}`);
    return this.conversations.create(creatorId, memberIds, input.title ?? null);
  }

  async list(userId: string, cursor: string | undefined, limit = 50): Promise<ConversationPage> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows = await this.conversations.listForUser(userId, after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => row.view),
      nextCursor: rows.length > limit && last ? encodeCursor({ joinedAt: last.joinedAt, id: last.view.id }) : null,
    };
  }

  /**
   * The members of a conversation the user belongs to; 404 otherwise, the same answer as for a conversation
   * that does not exist, so outsiders cannot even learn it exists.
   */
  async requireMember(conversationId: string, userId: string): Promise<string[]> {
    const members = await this.conversations.members(conversationId);
    if (!members.includes(userId)) throw new NotFoundException('conversation not found');
    return members;
  }
}
