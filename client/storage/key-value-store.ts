/**
 * Where the SDK keeps its state (tokens, keys, sessions, sender keys, sync position): string values under string
 * keys. Keys use `/` as a separator ("session/<userId>/<deviceId>"), so `list(prefix)` finds a family of records.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}

/** Reads and writes JSON over a KeyValueStore. */
export async function getJson<T>(store: KeyValueStore, key: string): Promise<T | undefined> {
  const text = await store.get(key);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

export function putJson(store: KeyValueStore, key: string, value: unknown): Promise<void> {
  return store.put(key, JSON.stringify(value));
}
