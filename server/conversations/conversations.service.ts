import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { UsersRepository } from '../users/users.repository';
import { ConversationPage, ConversationView, CreateConversationDto, MAX_MEMBERS } from './conversations.dto';
import { ConversationsRepository } from './conversations.repository';

export function isDataException(error: unknown): boolean {
  const code = error instanceof QueryFailedError ? (error.driverError as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('22');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function encodeCursor(position: { joinedAt: string; id: string }): string {
  return Buffer.from(JSON.stringify([position.joinedAt, position.id])).toString('base64url');
}

/**
 * joined_at as PostgreSQL writes timestamptz text ("2026-11-30 04:42:22.123456+00"). Checked field by field:
 * Date.parse takes "2026-02-30" (it rolls over to March), PostgreSQL refuses it, and that must be a 400, not a 500.
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(:\d{2}){0,2}$/;

function isTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHours] = [1, 2, 3, 4, 5, 6, 8].map((i) => Number(match[i]));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 15
  );
}

function decodeCursor(cursor: string): { joinedAt: string; id: string } {
  try {
    const [joinedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof joinedAt === 'string' && isTimestamp(joinedAt) && typeof id === 'string' && UUID.test(id))
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
    const rows = await this.conversations.listForUser(userId, after, limit + 1).catch((error: unknown) => {
      // Whatever slipped past decodeCursor: a value the database refuses (SQLSTATE class 22) came from the cursor.
      if (after && isDataException(error)) throw new BadRequestException('cursor is not valid');
      throw error;
    });
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
