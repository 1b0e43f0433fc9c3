import { readFileSync } from 'node:fs';
import { TIERS, type TierName } from '../infra/config/tiers';
import { BASELINE_FIGURES, CURRENT_FIGURES, readFigures, readPerCore } from './capacity-figures';
import { CAPACITY_BEGIN, CAPACITY_END, pessimisticModel, renderCapacity, sizeTiers } from './capacity-render';
import { README_FILE, rewriteReadme, rewriteTiersSource, TIERS_FILE } from './capacity-update';

/** `npm run capacity -- --write` is the only way the numbers below change: these catch a hand edit or a stale file. */
describe('the committed tiers and README come from the model and the committed figures', () => {
  const current = readFigures(CURRENT_FIGURES);

  it("each tier's api and worker min / desired / max are the model's sizing of current.json", () => {
    const sizing = sizeTiers(current.figures);
    for (const tier of Object.keys(TIERS) as TierName[]) {
      for (const role of ['api', 'worker'] as const) {
        const { min, desired, max } = TIERS[tier][role];
        expect({ tier, role, min, desired, max }).toEqual({ tier, role, ...sizing[tier][role] });
      }
    }
  });

  it("each group's max holds the fleet needed if the second vCPU bought nothing, with 25 % and two instances to spare", () => {
    for (const row of pessimisticModel(current.figures)) {
      for (const role of ['api', 'worker'] as const) {
        const need = row[role].needed;
        const spare = Math.max(Math.ceil(need * 1.25), need + 2);
        expect({ tier: row.tier, role, maxHoldsIt: TIERS[row.tier][role].max >= spare }).toEqual({
          tier: row.tier,
          role,
          maxHoldsIt: true,
        });
      }
    }
  });

  it("the README's capacity block is what the renderer prints (prettier aside)", () => {
    const readme = readFileSync(README_FILE, 'utf8');
    const block = readme.slice(readme.indexOf(CAPACITY_BEGIN), readme.indexOf(CAPACITY_END) + CAPACITY_END.length);
    const rendered = renderCapacity({ baseline: readFigures(BASELINE_FIGURES), current, perCore: readPerCore() });
    // Prettier pads table cells; compare words only.
    const words = (text: string) => text.replace(/[|\s-]+/g, ' ').trim();
    expect(words(block)).toBe(words(rendered));
  });
});

describe('rewriting tiers.ts', () => {
  it("replaces only the groups' numbers, keeping comments and the other fields", () => {
    const source = readFileSync(TIERS_FILE, 'utf8');
    const sizing = sizeTiers(readFigures(CURRENT_FIGURES).figures);
    const changed = {
      ...sizing,
      large: { api: { min: 10, desired: 11, max: 12 }, worker: { min: 2, desired: 3, max: 4 } },
    };
    const rewritten = rewriteTiersSource(source, changed);
    expect(rewritten).toContain("api: { instanceType: 'c5.large', min: 10, max: 12, desired: 11 }");
    expect(rewritten).toContain(
      "worker: { instanceType: 'c5.large', min: 2, max: 4, desired: 3, scaleOutBacklog: 5_000 }",
    );
    expect(rewritten.split('\n').length).toBe(source.split('\n').length);
    expect(rewriteTiersSource(source, sizing)).toBe(source);
  });

  it('refuses a README without the markers', () => {
    expect(() => rewriteReadme('# no markers', 'x')).toThrow(/markers/);
    expect(rewriteReadme(`a\n${CAPACITY_BEGIN}\nold\n${CAPACITY_END}\nb`, 'new')).toBe('a\nnew\nb');
  });
});
