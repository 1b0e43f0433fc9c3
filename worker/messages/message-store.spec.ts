import { DataSource } from 'typeorm';
import { MessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { isPermanentDatabaseError, isPrimaryUnreachable, MessageStore } from './message-store';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const body = (n: number, conversationId = uuid(900)): MessageQueueBodyV1 => ({
  v: 1,
  id: uuid(n),
  conversationId,
  senderId: uuid(800),
  clientMessageId: uuid(100 + n),
  ciphertext: 'AAAA',
  sentAt: '2026-01-01T00:00:00.000Z',
  memberIds: [uuid(800)],
});

const row = (b: MessageQueueBodyV1, inserted: boolean, seq: number) => ({
  inserted,
  id: b.id,
  seq: String(seq),
  conversation_id: b.conversationId,
  sender_id: b.senderId,
  client_message_id: b.clientMessageId,
  ciphertext: b.ciphertext,
  sent_at: new Date(b.sentAt),
  stored_at: new Date('2026-01-01T00:00:01.000Z'),
});

const fkViolation = () =>
  Object.assign(new Error('insert or update on table "messages" violates foreign key constraint'), { code: '23503' });

/** A DataSource whose only method is the one query the store runs, answering from `answer`. */
function fakeDataSource(answer: (ids: string[]) => unknown[]): { dataSource: DataSource; calls: string[][] } {
  const calls: string[][] = [];
  const dataSource = {
    query: async (_sql: string, params: unknown[]) => {
      const ids = params[0] as string[];
      calls.push(ids);
      return answer(ids);
    },
  } as unknown as DataSource;
  return { dataSource, calls };
}

describe('MessageStore', () => {
  it('stores a batch in one statement and reports stored vs earlier-stored duplicates in input order', async () => {
    const [a, b] = [body(1), body(2)];
    const { dataSource, calls } = fakeDataSource(() => [row(b, false, 7), row(a, true, 9)]);
    const results = await new MessageStore(dataSource).storeBatch([a, b]);
    expect(calls).toEqual([[a.id, b.id]]);
    expect(results.map((result) => result.status)).toEqual(['stored', 'duplicate']);
    expect(results[0]).toMatchObject({
      message: { id: a.id, seq: '9', sentAt: a.sentAt, storedAt: '2026-01-01T00:00:01.000Z' },
    });
  });

  it('sends a repeated key once and reports the second copy as a duplicate', async () => {
    const a = body(1);
    const { dataSource, calls } = fakeDataSource(() => [row(a, true, 1)]);
    const results = await new MessageStore(dataSource).storeBatch([a, { ...a }]);
    expect(calls).toEqual([[a.id]]);
    expect(results.map((result) => result.status)).toEqual(['stored', 'duplicate']);
  });

  it('isolates a poison message: after a data error the batch is retried message by message', async () => {
    const [a, poison, c] = [body(1), body(2, uuid(999)), body(3)];
    const { dataSource, calls } = fakeDataSource((ids) => {
      if (ids.includes(poison.id)) throw fkViolation();
      return ids.map((id) =>
        row(
          [a, c].find((candidate) => candidate.id === id)!,
          true,
          1,
        ),
      );
    });
    const results = await new MessageStore(dataSource).storeBatch([a, poison, c]);
    expect(calls).toEqual([[a.id, poison.id, c.id], [a.id], [poison.id], [c.id]]);
    expect(results.map((result) => result.status)).toEqual(['stored', 'failed', 'stored']);
    expect(results[1]).toMatchObject({ status: 'failed', permanent: true });
  });

  it('does not store the messages after a failed one in its conversation: they are blocked, others proceed', async () => {
    const other = uuid(901);
    const [head, next, elsewhere, later] = [body(1), body(2), body(3, other), body(4)];
    const { dataSource, calls } = fakeDataSource((ids) => {
      if (ids.includes(head.id)) throw fkViolation();
      return ids.map((id) =>
        row(
          [next, elsewhere, later].find((candidate) => candidate.id === id)!,
          true,
          1,
        ),
      );
    });
    const results = await new MessageStore(dataSource).storeBatch([head, next, elsewhere, later]);
    expect(calls).toEqual([[head.id, next.id, elsewhere.id, later.id], [head.id], [elsewhere.id]]);
    expect(results.map((result) => result.status)).toEqual(['failed', 'blocked', 'stored', 'blocked']);
  });

  it('does not retry one by one when the database itself is failing', async () => {
    const { dataSource, calls } = fakeDataSource(() => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    const results = await new MessageStore(dataSource).storeBatch([body(1), body(2)]);
    expect(calls).toHaveLength(1);
    expect(results).toEqual([
      expect.objectContaining({ status: 'failed', permanent: false, unavailable: true }),
      expect.objectContaining({ status: 'failed', permanent: false, unavailable: true }),
    ]);
  });

  it('fails (for a retry) a message skipped by a conflict that is not its own key', async () => {
    const { dataSource } = fakeDataSource(() => []);
    const [result] = await new MessageStore(dataSource).storeBatch([body(1)]);
    expect(result).toMatchObject({ status: 'failed', permanent: false });
  });

  it('classifies SQLSTATE classes 22 and 23 as permanent, also through TypeORM driverError', () => {
    expect(isPermanentDatabaseError({ code: '23503' })).toBe(true);
    expect(isPermanentDatabaseError({ driverError: { code: '22P02' } })).toBe(true);
    expect(isPermanentDatabaseError({ code: '57P01' })).toBe(false);
    expect(isPermanentDatabaseError(new Error('timeout'))).toBe(false);
  });
});

describe('isPrimaryUnreachable', () => {
  const queryFailed = (driverError: object) =>
    Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError });

  it('recognises a refused, cut or timed-out connection and a server shutting down', () => {
    expect(
      isPrimaryUnreachable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    const aggregate = Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), {});
    expect(isPrimaryUnreachable(aggregate)).toBe(true);
    expect(isPrimaryUnreachable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isPrimaryUnreachable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(
      isPrimaryUnreachable(
        queryFailed({ code: '57P01', message: 'terminating connection due to administrator command' }),
      ),
    ).toBe(true);
    expect(isPrimaryUnreachable(queryFailed({ code: '57P03', message: 'the database system is shutting down' }))).toBe(
      true,
    );
    expect(isPrimaryUnreachable(queryFailed({ code: '08006' }))).toBe(true);
    expect(isPrimaryUnreachable(queryFailed({ code: '25006' }))).toBe(true);
  });

  it('does not take a failing statement for an outage', () => {
    expect(isPrimaryUnreachable(queryFailed({ code: '23503', message: 'violates foreign key constraint' }))).toBe(
      false,
    );
    expect(isPrimaryUnreachable(queryFailed({ code: '40001' }))).toBe(false);
    expect(isPrimaryUnreachable(new Error('message conflicts with a row that is not its own'))).toBe(false);
  });
});
