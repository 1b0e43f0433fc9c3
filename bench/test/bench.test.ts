import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DEMAND } from '../capacity';
import { REPORT_SECTIONS } from '../report';
import { runBench } from '../run';

// The whole bench path on tiny numbers (a few users, 1-second phases): builds, starts the API and worker
// processes, runs every phase, writes the JSON and Markdown reports. Asserts shape, never speed.
jest.setTimeout(180_000);

describe('npm run bench (tiny)', () => {
  const out = mkdtempSync(join(tmpdir(), 'cyphr-bench-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every phase and writes a report with every section', async () => {
    const { report, files } = await runBench({ mode: 'tiny', out, assumptions: DEFAULT_DEMAND, modelOnly: false });
    for (const file of files) expect(existsSync(file)).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    for (const section of REPORT_SECTIONS) expect(json.measurements[section]).toBeDefined();
    expect(report.measurements.sendPath.saturation.ok).toBeGreaterThan(0);
    expect(report.measurements.sendPath.queued).toBeGreaterThanOrEqual(report.measurements.sendPath.accepted);
    expect(report.measurements.endToEnd.map((run) => run.rate)).toEqual([50, 100]);
    for (const run of report.measurements.endToEnd) expect(run.delivered).toBe(run.accepted);
    expect(report.measurements.connections.openAfterHold).toBe(report.measurements.connections.target);
    expect(report.measurements.drain.messagesPerSecond).toBeGreaterThan(0);
    expect(report.measurements.history.transactionsPerSecond.replica).toBeGreaterThan(0);
    expect(report.ratios.length).toBeGreaterThanOrEqual(4);
    expect(report.targets).toHaveLength(4);
    expect(report.capacity.map((tier) => tier.tier)).toEqual(['small', 'medium', 'large']);
    const markdown = readFileSync(join(out, 'latest.md'), 'utf8');
    for (const heading of [
      '## Targets',
      '## Limits and ratios',
      '## Send path',
      '## End to end',
      '## Connections',
      '## Worker drain',
      '## History',
      '## Capacity model',
    ]) {
      expect(markdown).toContain(heading);
    }
  });
});
