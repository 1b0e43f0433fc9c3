import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '../repository-root';

/** Where `npm run services:up` writes the local connection settings. */
export const LOCAL_ENV_FILE = join(repositoryRoot(), '.local', 'services.env');

/** Parses KEY=value lines (no shell expansion); blank lines and # comments are skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    values[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return values;
}

/**
 * For local runs: fills process.env from the services env file without overriding what is already set,
 * so an explicit variable always wins. Does nothing where the file does not exist (AWS instances).
 */
export function loadLocalEnvFile(file = process.env.CYPHR_ENV_FILE ?? LOCAL_ENV_FILE): void {
  if (!existsSync(file)) return;
  for (const [key, value] of Object.entries(parseEnvFile(readFileSync(file, 'utf8')))) {
    if (process.env[key] === undefined) process.env[key] = value;
  }
}
