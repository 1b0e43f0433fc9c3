import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from './file-store';
import { getJson, KeyValueStore, putJson } from './key-value-store';
import { MemoryStore } from './memory-store';

describe.each([
  ['MemoryStore', async () => ({ store: new MemoryStore() as KeyValueStore, done: async () => undefined })],
  [
    'FileStore',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cyphr-store-'));
      return { store: new FileStore(join(dir, 'home')) as KeyValueStore, done: () => rm(dir, { recursive: true }) };
    },
  ],
])('%s', (_name, make) => {
  it('gets, puts, overwrites and deletes string values; a missing key is undefined', async () => {
    const { store, done } = await make();
    expect(await store.get('a')).toBeUndefined();
    await store.put('a', 'one');
    await store.put('a', 'two');
    expect(await store.get('a')).toBe('two');
    await store.delete('a');
    await store.delete('a');
    expect(await store.get('a')).toBeUndefined();
    await done();
  });

  it('lists keys by prefix, sorted, with separators and odd characters kept intact', async () => {
    const { store, done } = await make();
    for (const key of ['session/u2/1', 'session/u1/2', 'session/u1/1', 'sessions', 'x/../../escape', 'ü.🙂']) {
      await store.put(key, key);
    }
    expect(await store.list('session/')).toEqual(['session/u1/1', 'session/u1/2', 'session/u2/1']);
    expect(await store.list('session/u1/')).toEqual(['session/u1/1', 'session/u1/2']);
    expect(await store.get('x/../../escape')).toBe('x/../../escape');
    expect(await store.get('ü.🙂')).toBe('ü.🙂');
    expect((await store.list('')).length).toBe(6);
    await done();
  });

  it('round-trips JSON', async () => {
    const { store, done } = await make();
    await putJson(store, 'j', { a: [1, 'b'], c: null });
    expect(await getJson(store, 'j')).toEqual({ a: [1, 'b'], c: null });
    expect(await getJson(store, 'missing')).toBeUndefined();
    await done();
  });
});

describe('FileStore on disk', () => {
  it('keeps its directory 0700 and each file 0600, and leaves no temporary files behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cyphr-store-'));
    const home = join(dir, 'home');
    const store = new FileStore(home);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`k/${i % 3}`, `value ${i}`)));
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    const names = await readdir(home);
    expect(names.filter((name) => name.startsWith('.tmp-'))).toEqual([]);
    for (const name of names) expect((await stat(join(home, name))).mode & 0o777).toBe(0o600);
    expect(await store.list('k/')).toEqual(['k/0', 'k/1', 'k/2']);
    // Another instance over the same directory (the next CLI run) reads the same state.
    expect(await new FileStore(home).get('k/1')).toMatch(/^value \d+$/);
    await rm(dir, { recursive: true });
  });
});
