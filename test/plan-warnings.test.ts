/** The plan's warning that groups fine alone sum to a destroyed output: what its message claims (src/core/plan/warnings.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DepGraph, Group } from '../src/core/deps/analyze.js';
import type { Allocation, PlanGroup } from '../src/core/plan/strategies.js';
import { planWarnings } from '../src/core/plan/warnings.js';

/** Groups of 10 channels whose scan loss at half of them removed is `loss`, each planned at half. */
function warningsFor(losses: number[]) {
  const groups: PlanGroup[] = losses.map((loss, id) => ({
    group: { id, units: Array.from({ length: 10 }, (_, u) => [u]), sources: [`conv${id}`] } as unknown as Group,
    scores: new Float64Array(10),
    curve: [{ ratio: 0, loss: 0 }, { ratio: 0.5, loss }],
  }));
  return planWarnings({
    metric: { name: 'rel-l2', ceiling: 1, meaning: '1 means the output is zeroed or unrelated' },
    groups, alloc: { keep: new Map(losses.map((_, id) => [id, 5])) } as Allocation,
    infos: [], dep: { groups: [] } as unknown as DepGraph, layerMacs: new Map(), totalMacs: 1, minChannels: 1, maxRatio: 0.8, strategy: 'sensitivity',
  }).filter((w) => w.kind === 'destroyed');
}

describe('the warning that the groups\' losses sum to a destroyed output', () => {
  it('warns from 90 % of the maximum on, and says how near it is (PP-OCRv4\'s detector at 50 %: 0.929 of 1)', () => {
    const [w] = warningsFor([0.47, 0.46]);
    assert.equal(w.group, undefined, 'no group alone is destroyed');
    assert.match(w.message, /sum to 0\.930, 93 % of its maximum 1\.000 /);
    assert.doesNotMatch(w.message, /past/);
  });

  it('says "past" only when the sum is', () => {
    assert.match(warningsFor([0.6, 0.6])[0].message, /sum to 1\.200, past its maximum 1\.000 /);
    assert.deepEqual(warningsFor([0.4, 0.4]), [], 'below 90 %: no warning');
  });
});
