/**
 * Two gaps found on real models: a uniform ratio over Concat-coupled groups must take that ratio of every source
 * layer's own channels; and verification's tolerance must come from the model's own float32 noise (a deep network
 * with BatchNormalization kept exceeds any fixed 1e-4), while a real structural mistake still fails.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { torchvisionModel } from '../bench/models.js';
import { analyse } from '../src/core/analysis.js';
import { openModel, pruneModel } from '../src/core/api.js';
import { cloneModel } from '../src/core/formats/index.js';
import { selectionsFor } from '../src/core/prune.js';
import { applyPruning } from '../src/core/surgery/apply.js';
import { applyMask } from '../src/core/surgery/twin.js';
import { verifyAgainstTwin } from '../src/core/surgery/verify.js';
import { ROOT, tmpdir } from './helpers/env.js';

const hasTorch = fs.existsSync('/usr/lib/python3/dist-packages/torchvision');
const dir = tmpdir();

/** Per source conv of a concat-coupled group: output channels before and after. */
async function concatSources(net: string, withinGroup: 'per-source' | 'global') {
  const file = torchvisionModel(ROOT, net);
  const session = await openModel(file);
  const concat = session.groups().filter((g) => g.prunable && g.couplings.some((c) => c.op === 'Concat'));
  const r = await pruneModel(file, path.join(dir, `${net}-${withinGroup}.onnx`), { ratio: 0.5, withinGroup, latencyRuns: 0, overwrite: true });
  assert.ok(r.verification.passed);
  const sources = new Set(concat.flatMap((g) => g.sources));
  return { concat, layers: r.layers.filter((l) => sources.has(l.name) && l.op === 'Conv') };
}

describe('a uniform ratio over Concat-coupled groups (per source layer)', () => {
  for (const net of ['squeezenet1_0', 'densenet121', 'googlenet']) {
    it(`${net}: every layer feeding a Concat loses half of its own channels`, async (t) => {
      if (!hasTorch) return t.skip('Debian python3-torchvision not installed');
      const { concat, layers } = await concatSources(net, 'per-source');
      assert.ok(concat.length >= (net === 'densenet121' ? 4 : 8), `${concat.length} concat groups`);
      assert.ok(layers.length >= 16, `${layers.length} source convs`);
      for (const l of layers) {
        const want = l.outChannelsBefore! - Math.floor(l.outChannelsBefore! * 0.5);
        assert.ok(Math.abs(l.outChannelsAfter! - want) <= 1, `${l.name}: ${l.outChannelsBefore} → ${l.outChannelsAfter}, expected about ${want}`);
      }
      if (net === 'squeezenet1_0') {
        // each fire's expand1x1 and expand3x3 (64 + 64, or 128 + 128, …) end even
        const expands = layers.filter((l) => /expand/.test(l.name));
        assert.ok(expands.length >= 16);
        for (const l of expands) assert.equal(l.outChannelsAfter, l.outChannelsBefore! / 2, l.name);
      }
    });
  }

  it('the within-group global choice stays available, and is uneven', async (t) => {
    if (!hasTorch) return t.skip('Debian python3-torchvision not installed');
    const { layers } = await concatSources('squeezenet1_0', 'global');
    const expands = layers.filter((l) => /expand/.test(l.name));
    assert.ok(expands.some((l) => l.outChannelsAfter !== l.outChannelsBefore! / 2), 'global takes the lowest scores wherever they are');
    const total = (xs: typeof expands) => xs.reduce((s, l) => s + l.outChannelsAfter!, 0);
    assert.equal(total(expands), expands.reduce((s, l) => s + l.outChannelsBefore!, 0) / 2, 'the same number in all');
  });

  it('estimate matches prune on Concat models (per source and global)', async (t) => {
    if (!hasTorch) return t.skip('Debian python3-torchvision not installed');
    for (const net of ['squeezenet1_0', 'densenet121', 'googlenet']) {
      const file = torchvisionModel(ROOT, net);
      const session = await openModel(file);
      const groups = session.groups().filter((g) => g.prunable);
      const keep = Object.fromEntries(groups.map((g, i) => [String(g.id), Math.max(2, Math.round(g.channels * (0.25 + 0.5 * ((i * 7) % 10) / 10)))]));
      for (const withinGroup of ['per-source', 'global'] as const) {
        const est = session.estimate(keep, { withinGroup });
        const r = await session.prune({ keep, withinGroup });
        assert.equal(est.params, r.report.after.params, `${net} ${withinGroup}: params`);
        assert.equal(est.macs, r.report.after.macs, `${net} ${withinGroup}: MACs`);
      }
    }
  });
});

describe('verification tolerance from the model\'s own noise', () => {
  it('ShuffleNetV2 with BatchNormalization kept prunes at 0.5 and verifies; the error stays within its own noise', async (t) => {
    if (!hasTorch) return t.skip('Debian python3-torchvision not installed');
    const file = torchvisionModel(ROOT, 'shufflenet_v2_x1_0', true);
    for (const ratio of [0.3, 0.5, 0.7]) {
      const r = await pruneModel(file, path.join(dir, `shufflenet-bn-${ratio}.onnx`), { ratio, latencyRuns: 0, overwrite: true });
      const v = r.verification;
      assert.ok(v.passed, `ratio ${ratio}: ${JSON.stringify(v.outputs)}`);
      for (const o of v.outputs) {
        assert.ok(o.noise > 0, 'the noise was measured');
        assert.ok(o.tolerance < 1e-2 * o.scale, `tolerance ${o.tolerance} stays far below a structural error at scale ${o.scale}`);
      }
    }
  });

  it('a structural mistake (the twin masks other channels than surgery removed) still fails', async (t) => {
    if (!hasTorch) return t.skip('Debian python3-torchvision not installed');
    for (const [net, keepBn] of [['shufflenet_v2_x1_0', true], ['resnet18', false]] as const) {
      const a = await analyse(torchvisionModel(ROOT, net, keepBn));
      const right = selectionsFor(a, { ratio: 0.5 });
      // the same counts, shifted by one channel in one group: a model that is wrong in exactly one place
      const g = a.dep.groups[right[0].group];
      const wrong = right.map((s, i) => (i ? s : { group: s.group, remove: s.remove.map((u) => (u + 1) % g.units.length).sort((x, y) => x - y) }));
      assert.notDeepEqual(wrong[0].remove, right[0].remove);
      const pruned = cloneModel(a.model);
      applyPruning(pruned, a.dep, right);
      const twin = cloneModel(a.model);
      applyMask(twin, a.dep, wrong);
      const v = await verifyAgainstTwin(pruned, twin, a.shapes.inputs);
      assert.equal(v.passed, false, `${net}: a misplaced channel passed (${JSON.stringify(v.outputs)})`);
      const o = v.outputs[0];
      assert.ok(o.absError > 10 * o.tolerance, `${net}: error ${o.absError} vs tolerance ${o.tolerance}`);
    }
  });
});
