import { modelFigures } from './capacity-figures';

const base = {
  apiCpuMsPerMessage: 0.5,
  apiCpuMsPerRead: 0.8,
  workerCpuMsPerMessage: 0.3,
  connectionsHeld: 10_000,
  bytesPerConnection: 10_000,
  apiCoresPer1000Connections: 0.002,
  apiBaseRssMiB: 160,
};

describe("the model's figures from a bench report", () => {
  it('keeps the seven figures and names a missing one', () => {
    expect(modelFigures(base)).toEqual(base);
    expect(() => modelFigures({ ...base, apiCpuMsPerRead: undefined }, undefined, 'latest.json')).toThrow(
      /latest\.json: figures lack apiCpuMsPerRead/,
    );
  });

  it('adds the moderate-load costs with the per-process rates that phase ran at', () => {
    const raw = { ...base, moderateApiCpuMsPerMessage: 0.9, moderateWorkerCpuMsPerMessage: 0.7 };
    expect(modelFigures(raw, { apiProcesses: 2, accepted: 9_600, stored: 9_600, seconds: 30 }).moderate).toEqual({
      apiCpuMsPerMessage: 0.9,
      workerCpuMsPerMessage: 0.7,
      apiMessagesPerSecondPerProcess: 160,
      workerMessagesPerSecondPerProcess: 320,
    });
    // Three windows of 20 s: the counts are their sums.
    const windows = [{}, {}, {}];
    expect(
      modelFigures(raw, { apiProcesses: 2, accepted: 19_200, stored: 19_200, seconds: 20, windows }).moderate,
    ).toMatchObject({ apiMessagesPerSecondPerProcess: 160, workerMessagesPerSecondPerProcess: 320 });
    // Without the phase's counts: the shape PERF.md gives it (320 msg/s over two API processes and one worker).
    expect(modelFigures(raw).moderate?.apiMessagesPerSecondPerProcess).toBe(160);
  });

  it("prices a 10-member message's API side: its accept plus the 1:1 push share per member socket", () => {
    const raw = { ...base, sendApiCpuMsPerMessage: 0.3, groupSendApiCpuMsPerMessage: 0.6, groupMembers: 10 };
    // push per socket = (0.5 - 0.3) / 2 = 0.1; 0.6 + 10 x 0.1 = 1.6
    expect(modelFigures(raw).groupMessage).toEqual({ apiCpuMsPerMessage: 1.6 });
  });
});
