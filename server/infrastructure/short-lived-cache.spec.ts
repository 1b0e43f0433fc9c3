import { ShortLivedCache } from './short-lived-cache';

describe('ShortLivedCache', () => {
  it('answers a value until its time is up', () => {
    const cache = new ShortLivedCache<string>(500);
    cache.set('a', 'x', cache.begin(), 1_000);
    expect(cache.get('a', 1_499)).toBe('x');
    expect(cache.get('a', 1_500)).toBeUndefined();
  });

  it('drops forgotten keys, and refuses a fill read before an invalidation', () => {
    const cache = new ShortLivedCache<string>(500);
    cache.set('a', 'x', cache.begin(), 0);
    const ticket = cache.begin();
    cache.forget(['a']);
    expect(cache.get('a', 1)).toBeUndefined();
    cache.set('a', 'stale', ticket, 2);
    expect(cache.get('a', 3)).toBeUndefined();
    cache.set('a', 'fresh', cache.begin(), 4);
    expect(cache.get('a', 5)).toBe('fresh');
  });

  it('holds at most maxEntries, forgetting the oldest first', () => {
    const cache = new ShortLivedCache<number>(500, 2);
    for (const key of ['a', 'b', 'c']) cache.set(key, 1, cache.begin(), 0);
    expect([cache.get('a', 1), cache.get('b', 1), cache.get('c', 1)]).toEqual([undefined, 1, 1]);
  });
});
