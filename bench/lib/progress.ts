/**
 * One progress line on stderr while the bench runs: rewritten in place on a terminal, otherwise printed at
 * most every few seconds (CI logs stay short). Always prefixed with the elapsed time and the phase.
 */
export class Progress {
  private readonly started = Date.now();
  private lastPrinted = 0;
  private phase = 'setup';

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly quietMs = 3_000,
  ) {}

  private elapsed(): string {
    const seconds = Math.floor((Date.now() - this.started) / 1000);
    return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
  }

  /** Starts a phase: always printed on its own line. */
  begin(phase: string, what = ''): void {
    this.phase = phase;
    this.write(`${what}`, true);
  }

  /** Updates the current line (throttled when not a terminal). */
  update(text: string): void {
    this.write(text, false);
  }

  /** A line that stays, e.g. a phase's result. */
  note(text: string): void {
    this.write(text, true);
  }

  private write(text: string, force: boolean): void {
    const line = `[bench ${this.elapsed()}] ${this.phase}${text ? `: ${text}` : ''}`;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}${force ? '\n' : ''}`);
      return;
    }
    if (!force && Date.now() - this.lastPrinted < this.quietMs) return;
    this.lastPrinted = Date.now();
    this.out.write(`${line}\n`);
  }
}
