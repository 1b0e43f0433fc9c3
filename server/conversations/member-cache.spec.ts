import { ServiceUnavailableException } from '@nestjs/common';
import type { RedisCommands } from '../../common/redis/connection';
import { RedisUnavailableError, type RedisService } from '../infrastructure/redis.service';
import type { CacheResult, MetricsService } from '../metrics/metrics.service';
import { MemberCache } from './member-cache';

/** A RedisService whose one key holds `stored`; `down` makes every command fail as Redis unavailable. */
function fakes(stored: string | null, down = false) {
  const results: CacheResult[] = [];
  const evals: string[][] = [];
  const commands = {
    get: async () => stored,
    eval: async (_script: string, key: string, args: string[]) => evals.push([key, ...args]),
  } as unknown as RedisCommands;
  const run = async <T>(what: string, command: (client: RedisCommands) => Promise<T>): Promise<T> => {
    if (down) throw new RedisUnavailableError(what);
    return command(commands);
  };
  const redis = { run, attempt: (what: string, command: never) => run(what, command).catch(() => undefined) };
  const metrics = { cache: (_name: string, result: CacheResult) => results.push(result) };
  const cache = new MemberCache(redis as unknown as RedisService, metrics as unknown as MetricsService);
  return { cache, results, evals };
}

describe('MemberCache', () => {
  it('serves the members of an entry as a hit', async () => {
    const { cache, results } = fakes('7:a,b');
    expect(await cache.read('c')).toEqual(['a', 'b']);
    expect(results).toEqual(['hit']);
  });

  it('treats a pending change, an older release’s value and nothing as misses', async () => {
    for (const stored of ['8:?', 'a,b', null]) {
      const { cache, results } = fakes(stored);
      expect(await cache.read('c')).toBeUndefined();
      expect(results).toEqual(['miss']);
    }
  });

  it('counts Redis being down as an error and lets the database answer', async () => {
    const { cache, results } = fakes('7:a', true);
    expect(await cache.read('c')).toBeUndefined();
    expect(results).toEqual(['error']);
  });

  it('offers entries and reserves versions through the compare-and-set, with the version beside the entry', async () => {
    const { cache, evals } = fakes(null);
    await cache.offer('c', '3', ['a', 'b']);
    await cache.reserve('c', '4');
    expect(evals).toEqual([
      ['members:c', '3', '3:a,b', '300'],
      ['members:c', '4', '4:?', '60'],
    ]);
  });

  it('refuses the change (503) when the version cannot be reserved, but an offer failing is only a lost refill', async () => {
    const { cache } = fakes(null, true);
    await expect(cache.offer('c', '3', ['a'])).resolves.toBeUndefined();
    await expect(cache.reserve('c', '4')).rejects.toBeInstanceOf(ServiceUnavailableException);
  });
});
