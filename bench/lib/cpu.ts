import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) of processes, read from /proc, so every phase can say which process used the
 * machine's cores: ours (API, worker, the load generator) or the services (PostgreSQL, Redis, the SQS server).
 */
const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0; // the process ended
  }
}

/** A group of processes: by fixed pids (ours) or by a test on the command line and name (the services). */
export type ProcessGroup = { pids: () => number[] } | { match: (cmdline: string, comm: string) => boolean };

/** The local services, as scripts/services.sh starts them. */
export const SERVICE_GROUPS: Record<string, ProcessGroup> = {
  postgres: { match: (_, comm) => comm.startsWith('postgres') },
  redis: { match: (_, comm) => comm.startsWith('redis-server') },
  sqs: { match: (cmdline) => cmdline.includes('sqs-server') },
};

function matchingPids(match: (cmdline: string, comm: string) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (match(cmdline, comm)) pids.push(Number(entry));
    } catch {
      // the process ended
    }
  }
  return pids;
}

function groupPids(group: ProcessGroup): number[] {
  return 'pids' in group ? group.pids() : matchingPids(group.match);
}

/**
 * Cores each group kept busy between start() and stop(): CPU seconds / wall seconds, two decimals. Counted per
 * process, so a process that started meanwhile counts from zero and one that ended drops out (instead of
 * making the difference negative).
 */
export class CpuMeter {
  private before = new Map<number, number>();
  private startedAt = 0;

  constructor(private readonly groups: Record<string, ProcessGroup>) {}

  start(): void {
    this.startedAt = Date.now();
    this.before = new Map();
    for (const group of Object.values(this.groups))
      for (const pid of groupPids(group)) this.before.set(pid, processCpuSeconds(pid));
  }

  /**
   * CPU seconds each group used since start(), unrounded, without stopping: per-operation costs divide these
   * by counts (cores rounded to two decimals lose too much at small loads), and a phase may read the API
   * when its load ends and the worker later, once it has caught up.
   */
  cpuSeconds(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.groups).map(([name, group]) => {
        const used = groupPids(group).reduce((sum, pid) => {
          const now = processCpuSeconds(pid);
          return sum + (now > 0 ? now - (this.before.get(pid) ?? 0) : 0);
        }, 0);
        return [name, Math.max(0, used)];
      }),
    );
  }

  /** Wall seconds since start(). */
  elapsedSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  stop(): Record<string, number> {
    const seconds = this.elapsedSeconds();
    return Object.fromEntries(
      Object.entries(this.cpuSeconds()).map(([name, used]) => [name, Number((used / seconds).toFixed(2))]),
    );
  }
}

/** CPU milliseconds per operation, three decimals; NaN when nothing was counted. */
export function cpuMsPer(cpuSeconds: number, operations: number): number {
  return operations > 0 ? Number(((cpuSeconds * 1000) / operations).toFixed(3)) : NaN;
}

/** Resident set size of one process in bytes (VmRSS), 0 when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((text) => text.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Load averages over 1, 5 and 15 minutes. */
export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [one, five, fifteen];
}
