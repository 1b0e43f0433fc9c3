import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { restartsAfter } from './systemd-unit';

/** How systemd restarts the unit (Restart=, RestartSec=), read from the installed unit file. */
export interface RestartPolicy {
  restart: string;
  restartSecMs: number;
  /** More starts than this within the interval and the unit stays failed (on EC2 StartLimitAction= powers off). */
  startLimitBurst: number;
  startLimitIntervalMs: number;
}

/**
 * A program started from the installed bundle, as systemd would start it (own env, logs to a file), and
 * restarted as its unit says when it dies: there is no systemd here, so this plays its part.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly startWaiters: { count: number; resolve: () => void }[] = [];
  /** Starts so far, the first included. */
  starts = 0;
  private readonly startedAt: number[] = [];
  /** Hit its start limit: systemd would leave the unit failed (and power the instance off). */
  failed = false;
  readonly logFile: string;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    logDir: string,
    private readonly options: { cwd?: string; restart?: RestartPolicy } = {},
  ) {
    this.logFile = join(logDir, `${name}.log`);
  }

  start(): this {
    this.stopping = false;
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(this.command, this.args, {
      env: this.env,
      cwd: this.options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        resolve(code);
        this.afterExit(code, signal);
      }),
    );
    this.child = child;
    this.starts++;
    this.startedAt.push(Date.now());
    for (const waiter of this.startWaiters.filter((w) => w.count <= this.starts)) waiter.resolve();
    return this;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves once the process has been started `count` times in all (a restart after a crash counts). */
  startedTimes(count: number): Promise<void> {
    if (this.starts >= count) return Promise.resolve();
    return new Promise((resolve) => this.startWaiters.push({ count, resolve }));
  }

  /** A crash from outside (OOM killer, a bug): the unit's restart policy applies. */
  kill(signal: NodeJS.Signals): Promise<number | null> {
    this.child?.kill(signal);
    return this.exited;
  }

  /**
   * `systemctl stop`: sends `signal`, no restart, resolves with the exit code (null when killed by a signal).
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    if (!this.running) return this.child?.exitCode ?? null;
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  private afterExit(code: number | null, signal: NodeJS.Signals | null): void {
    const policy = this.options.restart;
    if (this.stopping || !policy || !restartsAfter(policy.restart, code, signal)) return;
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      const recent = this.startedAt.filter((at) => Date.now() - at < policy.startLimitIntervalMs);
      if (recent.length >= policy.startLimitBurst) this.failed = true;
      else this.start();
    }, policy.restartSecMs);
  }
}
