import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The repository (or installed bundle) root: the nearest folder at or above `from` holding a package.json.
 * Works from the sources and from compiled output (build/, dist/), which have none of their own.
 */
export function repositoryRoot(from: string = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}
