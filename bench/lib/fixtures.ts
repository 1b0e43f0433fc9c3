import { CyphrClient, Session } from '../../scripts/testing/api-client';

/**
 * Users and conversations made through the real API (argon2 registration, JWTs the server validates), once
 * per run and shared by every phase: all API processes share the database, Redis and the JWT key.
 */
export interface Pair {
  sender: Session;
  recipient: Session;
  conversationId: string;
}

/** A group conversation its creator sends to. */
export interface Group {
  sender: Session;
  memberIds: string[];
  conversationId: string;
}

export interface Fixtures {
  users: Session[];
  /** Disjoint sender → recipient pairs, each with its own two-member conversation. */
  pairs: Pair[];
  /** Group conversations of `members` users each (one device each), made by their first member. */
  groups: Group[];
}

/** Runs `work` over `items` with at most `parallel` at a time, in order of start. */
export async function inParallel<T, R>(
  items: readonly T[],
  parallel: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index], index);
      }
    }),
  );
  return results;
}

/** Group g takes `members` consecutive users from g × members on (wrapping), so groups overlap only when users run out. */
async function createGroups(
  client: CyphrClient,
  sessions: Session[],
  shape: { conversations: number; members: number },
): Promise<Group[]> {
  if (shape.conversations > 0 && sessions.length < shape.members)
    throw new Error(`${shape.members}-member groups need at least as many users`);
  return inParallel(Array.from({ length: shape.conversations }), 8, async (_, index) => {
    const members = Array.from(
      { length: shape.members },
      (_, offset) => sessions[(index * shape.members + offset) % sessions.length],
    );
    const [sender, ...others] = members;
    const memberIds = members.map((member) => member.userId);
    return {
      sender,
      memberIds,
      conversationId: await client.createConversation(
        sender,
        others.map((member) => member.userId),
      ),
    };
  });
}

export async function createFixtures(
  baseUrl: string,
  users: number,
  groups: { conversations: number; members: number },
  onProgress: (done: number) => void,
): Promise<Fixtures> {
  const client = new CyphrClient(baseUrl);
  const run = Date.now().toString(36);
  let done = 0;
  const sessions = await inParallel(Array.from({ length: users }), 4, async (_, index) => {
    const session = await client.register(`bench_${run}_${index}`);
    onProgress(++done);
    return session;
  });
  const pairs = await inParallel(Array.from({ length: Math.floor(users / 2) }), 8, async (_, index) => {
    const sender = sessions[2 * index];
    const recipient = sessions[2 * index + 1];
    return { sender, recipient, conversationId: await client.createConversation(sender, [recipient.userId]) };
  });
  return { users: sessions, pairs, groups: await createGroups(client, sessions, groups) };
}
