import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DEMAND } from '../capacity';
import { completeFigures, REPORT_SECTIONS } from '../report';
import { runBench } from '../run';

// The whole bench path on tiny numbers (a few users, 1-second phases): builds, starts the API and worker
// processes, runs every phase, writes the JSON and Markdown reports. Asserts shape, never speed.
jest.setTimeout(180_000);

const HEADINGS = [
  '## Targets',
  '## Limits and ratios',
  '## Send path',
  '## Moderate load',
  '## End to end',
  '## Connections',
  '## Worker drain',
  '## History',
  '## Capacity model',
];

describe('npm run bench (tiny)', () => {
  const out = mkdtempSync(join(tmpdir(), 'cyphr-bench-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every phase and writes a report with every section', async () => {
    const { report, files } = await runBench({ mode: 'tiny', out, assumptions: DEFAULT_DEMAND, modelOnly: false });
    for (const file of files) expect(existsSync(file)).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    for (const section of REPORT_SECTIONS) expect(json.measurements[section]).toBeDefined();
    const { sendPath, moderate, endToEnd, connections, drain, history } = report.measurements;
    expect(sendPath!.saturation.ok).toBeGreaterThan(0);
    expect(sendPath!.group).toMatchObject({ members: 10, conversations: 2 });
    expect(sendPath!.group.saturation.ok).toBeGreaterThan(0);
    expect(sendPath!.queued).toBeGreaterThanOrEqual(sendPath!.accepted);
    expect(moderate).toMatchObject({ apiProcesses: 2, logLevel: 'info', caughtUp: true, failed: 0 });
    expect(moderate!.accepted).toBeGreaterThan(0);
    expect(moderate!.stored).toBe(moderate!.accepted);
    expect(moderate!.notifications).toEqual({ delivered: moderate!.stored, unsigned: 0, badSignature: 0 });
    expect(endToEnd!.map((run) => run.rate)).toEqual([50, 100]);
    for (const run of endToEnd!) {
      expect(run.delivered).toBe(run.accepted);
      expect(run.stored).toBeGreaterThanOrEqual(run.accepted);
      expect(run.workerCpuMsPerMessage).toBeGreaterThan(0);
    }
    expect(connections!.openAfterHold).toBe(connections!.target);
    expect(drain!.messagesPerSecond).toBeGreaterThan(0);
    expect(history!.transactionsPerSecond.replica).toBeGreaterThan(0);
    expect(report.ratios.length).toBeGreaterThanOrEqual(10);
    expect(report.targets).toHaveLength(8);
    expect(completeFigures(report.figures)).toBe(true);
    expect(report.capacity!.map((tier) => tier.tier)).toEqual(['small', 'medium', 'large']);
    const markdown = readFileSync(join(out, 'latest.md'), 'utf8');
    for (const heading of HEADINGS) expect(markdown).toContain(heading);
  });
});
