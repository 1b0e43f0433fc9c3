import { receiveBackoffMs } from './consumer-pool';

describe('receiveBackoffMs', () => {
  it('polls at once while receives succeed, then backs off exponentially to 10 s while the queue is unreachable', () => {
    expect([0, 1, 2, 3, 6, 7, 20].map(receiveBackoffMs)).toEqual([0, 200, 400, 800, 6400, 10_000, 10_000]);
  });
});
