import { ShortLivedCache } from './short-lived-cache';

describe('ShortLivedCache', () => {
  it('answers a value until its time, counted from when its read began, is up', () => {
    const cache = new ShortLivedCache<string>(500);
    cache.set('a', 'x', cache.begin(1_000), 1_200);
    expect(cache.get('a', 1_499)).toBe('x');
    expect(cache.get('a', 1_500)).toBeUndefined();
  });

  it('keeps nothing from a read that took longer than the time an entry is kept', () => {
    const cache = new ShortLivedCache<string>(500);
    cache.set('a', 'slow', cache.begin(0), 2_000);
    expect(cache.get('a', 2_001)).toBeUndefined();
  });

  it('drops forgotten keys, and refuses a fill read before an invalidation', () => {
    const cache = new ShortLivedCache<string>(500);
    cache.set('a', 'x', cache.begin(0), 0);
    const ticket = cache.begin(0);
    cache.forget(['a']);
    expect(cache.get('a', 1)).toBeUndefined();
    cache.set('a', 'stale', ticket, 2);
    expect(cache.get('a', 3)).toBeUndefined();
    cache.set('a', 'fresh', cache.begin(4), 4);
    expect(cache.get('a', 5)).toBe('fresh');
  });

  it('holds at most maxEntries, forgetting the oldest first', () => {
    const cache = new ShortLivedCache<number>(500, 2);
    for (const key of ['a', 'b', 'c']) cache.set(key, 1, cache.begin(0), 0);
    expect([cache.get('a', 1), cache.get('b', 1), cache.get('c', 1)]).toEqual([undefined, 1, 1]);
  });

  it('lets go of expired entries as new ones arrive, so a stream of distinct keys holds only the recent ones', () => {
    const cache = new ShortLivedCache<number>(500);
    for (let index = 0; index < 60_000; index++) cache.set(`key ${index}`, index, cache.begin(index), index);
    expect(cache.size).toBe(500);
  });
});
