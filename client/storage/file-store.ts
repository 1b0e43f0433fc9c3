import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyValueStore } from './key-value-store';

/**
 * Node: one directory (mode 0700), one file per key (mode 0600), written to a temporary file and renamed so a crash
 * never leaves half a record. Keys are encoded into file names (URI encoding, so `/` cannot escape the directory).
 */
export class FileStore implements KeyValueStore {
  private ready: Promise<void> | undefined;

  constructor(readonly directory: string) {}

  private ensureDirectory(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      // mkdir leaves an existing directory's mode alone: tighten it in case someone created it loosely.
      await chmod(this.directory, 0o700);
    })();
    return this.ready;
  }

  private pathOf(key: string): string {
    return join(this.directory, `${encodeURIComponent(key).replace(/\./g, '%2E')}.json`);
  }

  async get(key: string): Promise<string | undefined> {
    await this.ensureDirectory();
    try {
      return await readFile(this.pathOf(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async put(key: string, value: string): Promise<void> {
    await this.ensureDirectory();
    const target = this.pathOf(key);
    const temporary = join(this.directory, `.tmp-${randomBytes(8).toString('hex')}`);
    await writeFile(temporary, value, { mode: 0o600, flag: 'wx' });
    await rename(temporary, target);
  }

  async delete(key: string): Promise<void> {
    await this.ensureDirectory();
    await rm(this.pathOf(key), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    await this.ensureDirectory();
    const names = await readdir(this.directory);
    return names
      .filter((name) => name.endsWith('.json') && !name.startsWith('.tmp-'))
      .map((name) => decodeURIComponent(name.slice(0, -'.json'.length)))
      .filter((key) => key.startsWith(prefix))
      .sort();
  }
}
