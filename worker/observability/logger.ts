import pino, { Logger } from 'pino';
import { LogLevel } from '../../common/config/environment';

export type WorkerLogger = Logger;

/** JSON lines on stdout (journald → CloudWatch agent); one field per fact, never message content. */
export function createLogger(level: LogLevel, bindings: Record<string, unknown> = {}): WorkerLogger {
  return pino({ level, base: { service: 'cyphr-worker', pid: process.pid, ...bindings } });
}
