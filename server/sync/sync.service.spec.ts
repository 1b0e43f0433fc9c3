import type { AuthenticatedUser } from '../http/http-types';
import { decodeSyncCursor, encodeSyncCursor } from './sync-cursor';
import { MEMBERSHIP_CHANGES_PAGE } from './sync.constants';
import type { ConversationActivity, MembershipChangeRow, SyncRepository } from './sync.repository';
import { SyncService } from './sync.service';

const caller = { id: 'me', deviceId: 2, sessionId: 's' } as AuthenticatedUser;

function service(activity: ConversationActivity[], changes: MembershipChangeRow[]) {
  const calls: unknown[][] = [];
  const repository = {
    memberships: async () => [
      { conversationId: 'quiet', joinedSeq: '0' },
      { conversationId: 'busy', joinedSeq: '0' },
      { conversationId: 'joined', joinedSeq: '90' },
    ],
    pendingDeviceMessages: async (...args: unknown[]) => (calls.push(args), 4),
    activity: async (...args: unknown[]) => (calls.push(args), activity),
    membershipChanges: async () => changes,
  };
  return { sync: new SyncService(repository as unknown as SyncRepository), calls };
}

const change = (seq: string, conversationId: string, settled: boolean): MembershipChangeRow => ({
  seq,
  conversationId,
  userId: 'someone',
  change: 'added',
  actorId: 'admin',
  changedAt: new Date('2026-11-30T07:00:00Z'),
  settled,
});

const activity: ConversationActivity[] = [
  { conversationId: 'quiet', latestSeq: '40', newMessages: 0, settledSeq: null },
  { conversationId: 'busy', latestSeq: '120', newMessages: 70, settledSeq: '110' },
  { conversationId: 'joined', latestSeq: '95', newMessages: 5, settledSeq: null },
];

describe('SyncService', () => {
  it('moves the cursor only to the newest settled positions, and counts the calling device’s mailbox', async () => {
    const { sync, calls } = service(activity, [change('7', 'quiet', true), change('9', 'busy', false)]);
    const answer = await sync.since(caller, encodeSyncCursor({ messages: '50', changes: '5' }));
    expect(decodeSyncCursor(answer.nextSince)).toEqual({ messages: '110', changes: '7' });
    expect(answer.pendingDeviceMessages).toBe(4);
    expect(calls[0]).toEqual(['me', 2]);
    expect(answer.hasMore).toBe(false);
  });

  it('with a cursor, lists conversations with new messages or membership changes; pages from the later of cursor and join point', async () => {
    const { sync } = service(activity, [change('7', 'quiet', true)]);
    const answer = await sync.since(caller, encodeSyncCursor({ messages: '50', changes: '5' }));
    expect(answer.conversations).toEqual([
      { id: 'quiet', latestCursor: '40', newMessages: 0, pageFrom: '50' },
      { id: 'busy', latestCursor: '120', newMessages: 70, pageFrom: '50' },
      { id: 'joined', latestCursor: '95', newMessages: 5, pageFrom: '90' },
    ]);
    expect(answer.membershipChanges).toEqual([
      { conversationId: 'quiet', userId: 'someone', change: 'added', by: 'admin', at: '2026-11-30T07:00:00.000Z' },
    ]);
  });

  it('from scratch lists every conversation; without news a cursor lists none and stays put', async () => {
    const quietOnly = [activity[0]];
    expect((await service(quietOnly, []).sync.since(caller, undefined)).conversations).toHaveLength(1);
    const since = encodeSyncCursor({ messages: '50', changes: '5' });
    const answer = await service(quietOnly, []).sync.since(caller, since);
    expect(answer.conversations).toEqual([]);
    expect(answer.nextSince).toBe(since);
  });

  it('says hasMore when a full page of changes moved the cursor', async () => {
    const page = Array.from({ length: MEMBERSHIP_CHANGES_PAGE }, (_, i) => change(String(i + 1), 'busy', true));
    expect((await service(activity, page).sync.since(caller, undefined)).hasMore).toBe(true);
    const unsettled = page.map((row) => ({ ...row, settled: false }));
    expect((await service(activity, unsettled).sync.since(caller, undefined)).hasMore).toBe(false);
  });
});
