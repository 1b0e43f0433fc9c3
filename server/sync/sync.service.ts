import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '../http/http-types';
import { MEMBERSHIP_CHANGES_PAGE, NEW_MESSAGES_CAP, SETTLE_SECONDS } from './sync.constants';
import { SyncAnswer } from './sync.dto';
import { advance, decodeSyncCursor, encodeSyncCursor, FROM_SCRATCH } from './sync-cursor';
import { SyncRepository } from './sync.repository';

/**
 * Catch-up for a device: what changed in the caller's conversations since its cursor, in a bounded number of
 * queries. The next cursor only moves past what has settled (SETTLE_SECONDS), so a conversation may be reported by
 * two syncs but a message is never skipped.
 */
@Injectable()
export class SyncService {
  constructor(private readonly sync: SyncRepository) {}

  async since(caller: AuthenticatedUser, since: string | undefined): Promise<SyncAnswer> {
    const cursor = since === undefined ? FROM_SCRATCH : decodeSyncCursor(since);
    const [memberships, pendingDeviceMessages] = await Promise.all([
      this.sync.memberships(caller.id),
      this.sync.pendingDeviceMessages(caller.id, caller.deviceId),
    ]);
    const [activity, changes] = await Promise.all([
      this.sync.activity(memberships, cursor.messages, SETTLE_SECONDS, NEW_MESSAGES_CAP),
      this.sync.membershipChanges(
        caller.id,
        memberships.map((m) => m.conversationId),
        cursor.changes,
        SETTLE_SECONDS,
        MEMBERSHIP_CHANGES_PAGE,
      ),
    ]);
    const joinedSeq = new Map(memberships.map((m) => [m.conversationId, m.joinedSeq]));
    const changed = new Set(changes.map((change) => change.conversationId));
    const nextChanges = advance(
      cursor.changes,
      changes.map((change) => (change.settled ? change.seq : null)),
    );
    return {
      conversations: activity
        .filter((a) => since === undefined || a.newMessages > 0 || changed.has(a.conversationId))
        .map((a) => ({
          id: a.conversationId,
          latestCursor: a.latestSeq,
          newMessages: a.newMessages,
          pageFrom: advance(cursor.messages, [joinedSeq.get(a.conversationId)]),
        })),
      membershipChanges: changes.map((change) => ({
        conversationId: change.conversationId,
        userId: change.userId,
        change: change.change,
        by: change.actorId,
        at: change.changedAt.toISOString(),
      })),
      pendingDeviceMessages,
      nextSince: encodeSyncCursor({
        messages: advance(
          cursor.messages,
          activity.map((a) => a.settledSeq),
        ),
        changes: nextChanges,
      }),
      hasMore: changes.length === MEMBERSHIP_CHANGES_PAGE && nextChanges !== cursor.changes,
    };
  }
}
