import { parseOnly, parseOptions } from './options';

describe('bench command line', () => {
  it('runs every phase by default', () => {
    expect(parseOptions([])).toMatchObject({ mode: 'full', modelOnly: false, only: undefined });
  });

  it('takes --only phases in any spelling and runs them in the bench order', () => {
    expect(parseOnly('moderate')).toEqual(['moderate']);
    expect(parseOnly('history,send-path,END_TO_END')).toEqual(['sendPath', 'endToEnd', 'history']);
    expect(parseOptions(['--only', 'moderate', '--quick'])).toMatchObject({ mode: 'quick', only: ['moderate'] });
    expect(parseOptions(['--tiny', '--only', 'drain,moderate'])).toMatchObject({
      mode: 'tiny',
      only: ['moderate', 'drain'],
    });
  });

  it('refuses unknown phases, a missing list and unknown options', () => {
    expect(() => parseOnly('moderate,nope')).toThrow(/unknown phase\(s\) nope; known: limits, sendPath, moderate/);
    expect(() => parseOptions(['--only'])).toThrow(/--only/);
    expect(() => parseOptions(['--only', '--quick'])).toThrow(/unknown phase\(s\) --quick/);
    expect(() => parseOptions(['--fast'])).toThrow(/unknown option\(s\) --fast/);
  });
});
