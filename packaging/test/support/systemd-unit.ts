// What systemd would read from an installed unit: the command, the environment (Environment= and
// EnvironmentFile=), and how it restarts. The boot test starts and restarts processes from these, so a unit
// change (a new setting, a different RestartSec) is tested as installed.
import { readFileSync } from 'node:fs';
import { parseEnvFile } from '../../../common/config/local-env-file';

export interface ServiceUnit {
  execStart: string[];
  environment: Record<string, string>;
  environmentFiles: string[];
  workingDirectory?: string;
  /** Restart= (systemd's default is `no`). */
  restart: string;
  /** RestartSec= in milliseconds (systemd's default is 100 ms). */
  restartSecMs: number;
  /** [Unit] StartLimitBurst= starts within StartLimitIntervalSec= and the unit fails instead (defaults 5 in 10 s). */
  startLimitBurst: number;
  startLimitIntervalMs: number;
}

/** systemd's PATH for system services (it does not inherit the caller's). */
export const SYSTEMD_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';

/** `2`, `2s`, `500ms`, `1min` → milliseconds. */
export function parseTimespan(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m)?$/.exec(value.trim());
  if (!match) throw new Error(`unsupported time span ${value}`);
  const factor = { ms: 1, s: 1000, sec: 1000, min: 60_000, m: 60_000 }[match[2] ?? 's']!;
  return Number(match[1]) * factor;
}

/** Whitespace-separated words, double quotes grouping (enough for ExecStart= and Environment= as we write them). */
function words(value: string): string[] {
  return [...value.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/**
 * A template's instance specifiers as systemd resolves them (systemd.unit(5), "Specifiers"): %i the instance name,
 * %% a percent sign. Any other specifier in a unit we ship would be a surprise here, so it fails.
 */
export function resolveSpecifiers(text: string, instance: string | undefined, path: string): string {
  return text.replace(/%(.)/g, (whole, letter: string) => {
    if (letter === '%') return '%';
    if (letter === 'i' && instance !== undefined) return instance;
    throw new Error(
      `${path}: specifier ${whole} ${letter === 'i' ? 'needs an instance (a template unit)' : 'is not supported'}`,
    );
  });
}

/** A unit file, or a template (`cyphr-api@.service`) read as its instance `instance` (`cyphr-api@1.service`). */
export function readServiceUnit(path: string, instance?: string): ServiceUnit {
  const unit: ServiceUnit = {
    execStart: [],
    environment: {},
    environmentFiles: [],
    restart: 'no',
    restartSecMs: 100,
    startLimitBurst: 5,
    startLimitIntervalMs: 10_000,
  };
  let section = '';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    if (raw.trim().startsWith('#')) continue;
    const line = resolveSpecifiers(raw.trim(), instance, path);
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (section === '[Unit]' && key === 'StartLimitBurst') unit.startLimitBurst = Number(value);
    if (section === '[Unit]' && key === 'StartLimitIntervalSec') unit.startLimitIntervalMs = parseTimespan(value);
    if (section !== '[Service]') continue;
    if (key === 'ExecStart') unit.execStart = words(value);
    else if (key === 'Environment')
      for (const word of words(value)) {
        const at = word.indexOf('=');
        unit.environment[word.slice(0, at)] = word.slice(at + 1);
      }
    else if (key === 'EnvironmentFile') unit.environmentFiles.push(value.replace(/^-/, ''));
    else if (key === 'WorkingDirectory') unit.workingDirectory = value;
    else if (key === 'Restart') unit.restart = value;
    else if (key === 'RestartSec') unit.restartSecMs = parseTimespan(value);
  }
  if (unit.execStart.length === 0) throw new Error(`${path} has no ExecStart`);
  return unit;
}

/**
 * The process environment systemd gives the unit: its PATH, Environment=, then each EnvironmentFile=
 * (read from `fileFor(path)`, later assignments winning, as systemd applies them).
 */
export function unitEnvironment(unit: ServiceUnit, fileFor: (path: string) => string): Record<string, string> {
  const env: Record<string, string> = { PATH: SYSTEMD_DEFAULT_PATH, ...unit.environment };
  for (const file of unit.environmentFiles) Object.assign(env, parseEnvFile(readFileSync(fileFor(file), 'utf8')));
  return env;
}

/** Restart=on-failure: a non-zero exit, or death by a signal other than the clean ones (systemd.service(5)). */
export function restartsAfter(restart: string, code: number | null, signal: NodeJS.Signals | null): boolean {
  if (restart === 'always') return true;
  if (restart !== 'on-failure') return false;
  if (signal) return !['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE'].includes(signal);
  return code !== 0;
}
