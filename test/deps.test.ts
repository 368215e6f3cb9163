import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadAndShape } from '../src/core/analysis.js';
import { analyzeDependencies, describeGroup } from '../src/core/deps/analyze.js';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { computeShapes } from '../src/core/shapes/index.js';
import { pruneModel } from '../src/core/api.js';
import { syntheticFeeds } from '../src/core/runtime/feeds.js';
import { runOnce, tmpdir } from './helpers/env.js';
import { FIXTURES } from './helpers/fixtures.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

async function groupsOf(bytes: Uint8Array, input: number[]) {
  const model = decodeOnnx(bytes, 'fixture.onnx');
  const shapes = await computeShapes(model, { x: input });
  const dep = analyzeDependencies(model, shapes);
  return { model, dep, infos: dep.groups.map((g) => describeGroup(g, model)) };
}

describe('dependency groups on generated patterns', () => {
  const dir = tmpdir();
  for (const f of FIXTURES) {
    for (const ratio of [0.3, 0.7]) {
      it(`${f.name}: prunes at ${ratio}, verified, smaller, runs`, async () => {
        const file = path.join(dir, `${f.name}.onnx`);
        fs.writeFileSync(file, f.build());
        const out = path.join(dir, `${f.name}-${ratio}.onnx`);
        const r = await pruneModel(file, out, { ratio, inputShapes: [`x=${f.input.join('x')}`], overwrite: true });
        assert.ok(r.verification.passed, JSON.stringify(r.verification));
        assert.ok(r.groups.length > 0, 'some group was pruned');
        assert.ok(r.after.params < r.before.params && r.after.macs < r.before.macs);
        assert.ok(fs.statSync(out).size < fs.statSync(file).size);
        const { model } = await loadAndShape(out, { inputShapes: [`x=${f.input.join('x')}`] });
        const res = await runOnce(out, syntheticFeeds(model, { x: f.input }));
        assert.ok(Object.values(res).every((o) => Array.from(o.data, Number).every(Number.isFinite)));
      });
    }
  }

  it('residual: each residual path is one group with all its producers', async () => {
    const f = FIXTURES.find((x) => x.name === 'residual')!;
    const { infos } = await groupsOf(f.build(), f.input);
    const multi = infos.filter((g) => g.sources.length === 3);
    assert.equal(multi.length, 1, 'stem conv + two block outputs share their channels');
    assert.equal(multi[0].channels, 8);
    assert.ok(multi[0].members.some((m) => m.role === 'norm'));
  });

  it('concat: the concatenated channels form one group whose units map to each branch', async () => {
    const f = FIXTURES.find((x) => x.name === 'inception-concat')!;
    const { infos } = await groupsOf(f.build(), f.input);
    const cat = infos.find((g) => g.sources.length === 3)!;
    assert.equal(cat.channels, 15);
    assert.ok(cat.prunable);
  });

  it('depthwise: input and output channels are coupled, `group` is rewritten', async () => {
    const f = FIXTURES.find((x) => x.name === 'depthwise')!;
    const { dep, infos } = await groupsOf(f.build(), f.input);
    const g = infos.find((x) => dep.groups[x.id].fixes.filter((fx) => fx.kind === 'group').length === 2)!;
    assert.ok(g, 'both depthwise convs follow the first conv\'s channels');
    assert.deepEqual(g.sources, ['Conv_0']);
    // multiplier 2: each unit holds one input channel and two output channels of the second depthwise conv
    const m2 = dep.groups[g.id].spaces.find((s) => s.size === 16)!;
    assert.ok(m2, 'the 16-channel output of the multiplier-2 depthwise conv belongs to the 8-channel group');
    assert.equal(dep.groups[g.id].units.length, 8);
  });

  it('unsupported patterns block their group with a reason, never a wrong model', async () => {
    const b = new OnnxBuilder();
    const x = b.op('Relu', [b.conv(b.input('x', [1, 3, 8, 8]), 3, 8)]);
    // grouped 8 → 4 with 4 groups: one output channel per group, nothing can go (group=2 is supported now)
    const grouped = b.op('Relu', [b.conv(x, 8, 4, 3, { group: 4 })]);
    const soft = b.op('Softmax', [b.conv(grouped, 4, 6)], { axis: 1 });
    b.output(b.gemm(b.op('Flatten', [b.op('GlobalAveragePool', [soft])]), 6, 2));
    const { infos } = await groupsOf(b.build(), [1, 3, 8, 8]);
    const reasons = infos.filter((g) => !g.prunable).map((g) => g.reason!);
    assert.ok(reasons.some((r) => /grouped convolution/.test(r)), reasons.join('; '));
    assert.ok(reasons.some((r) => /Softmax .* normalises across channels/.test(r)), reasons.join('; '));
    assert.ok(reasons.some((r) => /graph output/.test(r)));
  });
});
