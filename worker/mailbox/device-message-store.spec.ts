import type { DataSource } from 'typeorm';
import { DeviceMessageQueueBodyV1 } from '../../common/contracts/queue-messages';
import { DeviceMessageStore } from './device-message-store';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const body = (n: number): DeviceMessageQueueBodyV1 => ({
  v: 1,
  kind: 'device-message',
  id: uuid(n),
  userId: uuid(801),
  deviceId: 2,
  senderId: uuid(800),
  senderDeviceId: 1,
  ciphertext: 'AAAA',
  sentAt: '2026-01-01T00:00:00.000Z',
});
const fkViolation = Object.assign(new Error('insert violates foreign key constraint'), { code: '23503' });

function store(answer: (ids: string[], retentionDays: unknown) => unknown) {
  const calls: string[][] = [];
  const dataSource = {
    query: async (_sql: string, params: unknown[]) => {
      calls.push(params[0] as string[]);
      return answer(params[0] as string[], params[7]);
    },
  } as unknown as DataSource;
  return { store: new DeviceMessageStore(dataSource, 30), calls };
}

describe('DeviceMessageStore', () => {
  it('tells stored, already there and device gone apart, in one statement with the retention', async () => {
    const { store: s, calls } = store((ids, days) => {
      expect(days).toBe(30);
      return [
        { id: ids[0], inserted: true, existed: false },
        { id: ids[1], inserted: false, existed: true },
        { id: ids[2], inserted: false, existed: false },
      ];
    });
    expect((await s.storeBatch([body(1), body(2), body(3)])).map((r) => r.status)).toEqual([
      'stored',
      'duplicate',
      'gone',
    ]);
    expect(calls).toHaveLength(1);
  });

  it('inserts a body twice in one batch once: the second is a duplicate', async () => {
    const { store: s, calls } = store((ids) => ids.map((id) => ({ id, inserted: true, existed: false })));
    expect((await s.storeBatch([body(1), body(1)])).map((r) => r.status)).toEqual(['stored', 'duplicate']);
    expect(calls[0]).toEqual([uuid(1)]);
  });

  it('tries each alone when the batch fails for a reason of its data, so only the bad one fails', async () => {
    const { store: s, calls } = store((ids) => {
      if (ids.length > 1 || ids[0] === uuid(2)) throw fkViolation;
      return [{ id: ids[0], inserted: true, existed: false }];
    });
    const results = await s.storeBatch([body(1), body(2), body(3)]);
    expect(results.map((r) => r.status)).toEqual(['stored', 'failed', 'stored']);
    expect(results[1]).toMatchObject({ permanent: true });
    expect(calls).toHaveLength(4);
  });

  it('fails the whole batch, unretried, when the primary cannot be reached', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const { store: s, calls } = store(() => {
      throw down;
    });
    const results = await s.storeBatch([body(1), body(2)]);
    expect(results).toEqual([
      { status: 'failed', error: down, permanent: false, unavailable: true },
      { status: 'failed', error: down, permanent: false, unavailable: true },
    ]);
    expect(calls).toHaveLength(1);
  });
});
