import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { analyse, loadAndShape } from '../src/core/analysis.js';
import { pruneModel } from '../src/core/api.js';
import { analyzeDependencies, describeGroup, type DepGraph } from '../src/core/deps/analyze.js';
import { loadModel } from '../src/core/formats/index.js';
import { selectionsFor, type PruneOptions } from '../src/core/prune.js';
import { applyPruning, removedBySpace, zeroMembers } from '../src/core/surgery/apply.js';
import { keepCount } from '../src/core/criteria/select.js';
import { applyMask } from '../src/core/surgery/twin.js';
import { verifyAgainstTwin } from '../src/core/surgery/verify.js';
import { EXAMPLE, ROOT, tmpdir } from './helpers/env.js';
import { FIXTURES } from './helpers/fixtures.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

const dir = tmpdir();

function fixture(name: string): { file: string; shapes: string[] } {
  const f = FIXTURES.find((x) => x.name === name)!;
  const file = path.join(dir, `${name}.onnx`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, f.build());
  return { file, shapes: [`x=${f.input.join('x')}`] };
}

async function analysed(name: string) {
  const { file, shapes } = fixture(name);
  const { model, shapes: s } = await loadAndShape(file, { inputShapes: shapes });
  const dep = analyzeDependencies(model, s);
  return { file, shapes, model, dep, infos: dep.groups.map((g) => describeGroup(g, model)) };
}

async function groupsOf(bytes: Uint8Array, shape: string) {
  const file = path.join(dir, `model-${Math.random().toString(36).slice(2)}.onnx`);
  fs.writeFileSync(file, bytes);
  const { model, shapes } = await loadAndShape(file, { inputShapes: [shape] });
  return analyzeDependencies(model, shapes).groups.map((g) => describeGroup(g, model));
}

/** Removed channels of one value, counted per block of `blocks`. */
function perBlock(dep: DepGraph, group: number, removed: number[], value: string, blocks: number): number[] {
  const g = dep.groups[group];
  const s = g.spaces.find((x) => x.value === value)!;
  const counts = new Array<number>(blocks).fill(0);
  for (const u of removed) for (const e of g.units[u]) if (e >= s.base && e < s.base + s.size) counts[Math.floor(((e - s.base) * blocks) / s.size)]++;
  return counts;
}

describe('grouped convolution', () => {
  it('removes equally many channels from each conv-group, keeps `group`, and verifies', async () => {
    const { file, shapes, model, dep, infos } = await analysed('grouped-conv');
    assert.ok(infos.filter((g) => g.sources.length).every((g) => g.prunable || /graph output/.test(g.reason!)));
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv' && n.int('group', 1) === 4 && n.inputs[0].startsWith('relu'))!;
    const out = path.join(dir, 'grouped.onnx');
    const r = await pruneModel(file, out, { ratio: 0.5, inputShapes: shapes, overwrite: true });
    assert.ok(r.verification.passed);
    const own = dep.groups.find((g) => g.sources.includes(conv.name))!;
    const sel = r.groups.find((g) => g.id === own.id)!;
    assert.deepEqual(perBlock(dep, own.id, sel.removed, conv.outputs[0], 4), [2, 2, 2, 2]);
    const read = dep.groups.find((g) => g.spaces.some((s) => s.value === conv.inputs[0]))!;
    const readSel = r.groups.find((g) => g.id === read.id)!;
    assert.deepEqual(perBlock(dep, read.id, readSel.removed, conv.inputs[0], 4), [2, 2, 2, 2]);
    const pruned = await loadModel(out);
    const after = pruned.graph.nodes.find((n) => n.name === conv.name)!;
    assert.equal(after.int('group', 1), 4);
    assert.deepEqual(pruned.graph.constant(after.inputs[1])!.dims, [8, 2, 3, 3]);
  });

  it('after a channel shuffle a unit spans the conv-groups; a Concat part outside them is free', async () => {
    const shuffle = await analysed('grouped-shuffle');
    const g = shuffle.dep.groups.find((x) => x.classes && x.units.length === 4)!;
    assert.equal(g.classes!.count, 2, 'the shuffled pairs fall in two classes by the second grouped conv');
    const cat = await analysed('grouped-concat');
    const c = cat.dep.groups.find((x) => x.units.length === 12)!;
    assert.equal(c.classes!.free, 4);
    const r = await pruneModel(cat.file, path.join(dir, 'cat.onnx'), { ratio: 0.5, inputShapes: cat.shapes, overwrite: true });
    const sel = r.groups.find((x) => x.id === c.id)!;
    assert.deepEqual(perBlock(cat.dep, c.id, sel.removed.filter((u) => u < 8), cat.dep.groups[c.id].spaces[0].value, 4), [1, 1, 1, 1]);
    assert.equal(sel.removed.length, 6);
  });

  it('groupings that cannot all lose equally block their group', async () => {
    const b = new OnnxBuilder();
    const x = b.op('Relu', [b.conv(b.input('x', [1, 3, 8, 8]), 3, 8)]);
    const cat = b.op('Concat', [b.conv(x, 8, 8, 3, { group: 4 }), b.conv(x, 8, 4, 1)], { axis: 1 });
    b.output(b.conv(cat, 12, 6, 3, { group: 2 }));
    const infos = await groupsOf(b.build(), 'x=1x3x8x8');
    assert.ok(infos.some((g) => /cannot all lose channels equally/.test(g.reason ?? '')));
  });

  it('keeps round-to and min-channels meaningful: multiples of both the blocks and N', () => {
    assert.equal(keepCount(16, 0, 0.3, {}, 4), 12);
    assert.equal(keepCount(16, 0, 0.5, { roundTo: 8 }, 4), 8);
    assert.equal(keepCount(24, 0, 0.3, { roundTo: 8 }, 6), 24);
    assert.equal(keepCount(128, 0, 0.7, { roundTo: 8 }, 32), 32);
    assert.equal(keepCount(16, 0, 0.9, { minChannels: 6 }, 4), 8);
    assert.equal(keepCount(16, 0, 0.9, {}, 4), 4);
  });

  it('rejects a plan that would unbalance the conv-groups', async () => {
    const { file, shapes, dep, model } = await analysed('grouped-conv');
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv' && n.int('group', 1) === 4)!;
    const g = dep.groups.find((x) => x.sources.includes(conv.name))!;
    await assert.rejects(
      pruneModel(file, path.join(dir, 'bad.onnx'), { plan: { [g.id]: [0, 1] }, inputShapes: shapes, overwrite: true }),
      /equally many channels from each of its 4 blocks/,
    );
    const ok = await pruneModel(file, path.join(dir, 'ok.onnx'), { plan: { [g.id]: [0, 4, 8, 12] }, inputShapes: shapes, overwrite: true });
    assert.ok(ok.verification.passed);
  });
});

describe('normalisations across channels', () => {
  for (const name of ['group-norm-18', 'group-norm-21', 'convnext-ln']) {
    it(`${name}: the masked twin is exact only with masked statistics`, async () => {
      const opts: PruneOptions = { ratio: 0.5 };
      const { file, shapes } = fixture(name);
      const load = async () => (await loadAndShape(file, { inputShapes: shapes })).model;
      const a = await analyse(file, { inputShapes: shapes });
      const { model, dep, shapes: s } = a;
      const sel = selectionsFor(a, opts);
      assert.ok(dep.groups.some((g) => g.fixes.some((f) => f.kind === 'norm')));
      const naive = await load();
      zeroMembers(naive, removedBySpace(dep, sel), dep);
      const twin = await load();
      applyMask(twin, dep, sel);
      applyPruning(model, dep, sel);
      assert.ok(!(await verifyAgainstTwin(model, naive, s.inputs)).passed, 'zeroed channels still count in the statistics');
      assert.ok((await verifyAgainstTwin(model, twin, s.inputs)).passed);
    });
  }

  it('GroupNormalization loses equally many channels per norm-group and keeps num_groups', async () => {
    const { file, shapes, dep, model } = await analysed('group-norm-21');
    const out = path.join(dir, 'gn.onnx');
    const r = await pruneModel(file, out, { ratio: 0.5, inputShapes: shapes, overwrite: true });
    const gn = model.graph.nodes.find((n) => n.opType === 'GroupNormalization' && n.int('num_groups', 0) === 3)!;
    const g = dep.groups.find((x) => x.spaces.some((s) => s.value === gn.inputs[0]))!;
    const sel = r.groups.find((x) => x.id === g.id)!;
    assert.deepEqual(perBlock(dep, g.id, sel.removed, gn.inputs[0], 3), [2, 2, 2]);
    const after = (await loadModel(out)).graph.nodes.find((n) => n.name === gn.name)!;
    assert.equal(after.int('num_groups', 0), 3);
  });

  it('GroupNormalization with one channel per group blocks its group', async () => {
    const b = new OnnxBuilder(18);
    const y = b.conv(b.input('x', [1, 3, 8, 8]), 3, 4);
    const gn = b.op('GroupNormalization', [y, b.init('s', [4]), b.init('b', [4])], { num_groups: 4 });
    b.output(b.conv(gn, 4, 2));
    const infos = await groupsOf(b.build(10), 'x=1x3x8x8');
    assert.match(infos[0].reason!, /GroupNormalization .* has 1 channel\(s\) per group/);
  });
});

describe('products', () => {
  it('Gemm with transA/transB and constants on either side: every inner layer is prunable', async () => {
    const { infos } = await analysed('gemm-trans');
    const inner = infos.filter((g) => !/graph output/.test(g.reason ?? ''));
    assert.equal(inner.length, 5);
    assert.ok(inner.every((g) => g.prunable), JSON.stringify(inner.map((g) => g.reason)));
    const left = inner.find((g) => g.sources.includes('Gemm_7'))!;
    assert.ok(left.members.some((m) => m.node === 'Gemm_7' && m.role === 'out' && m.axis === 0));
  });

  it('attention: Q and K projections share their channels; V passes to the output projection', async () => {
    const { infos } = await analysed('attention');
    const qk = infos.find((g) => g.sources.length === 2)!;
    assert.equal(qk.channels, 8);
    assert.ok(qk.prunable);
    assert.ok(infos.some((g) => g.channels === 12 && g.prunable && g.members.some((m) => m.role === 'in')));
  });

  it('a product whose contracted channels meet a tensor without them stays unprunable', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', [1, 6, 16]);
    const q = b.op('MatMul', [x, b.init('q', [16, 16])]);
    b.output(b.op('MatMul', [q, b.op('Transpose', [x], { perm: [0, 2, 1] })]));
    const infos = await groupsOf(b.build(), 'x=1x6x16');
    assert.match(infos[0].reason!, /contracts the channels with a tensor PruneLens cannot slice/);
  });
});

describe('prune report', () => {
  it('names the groups that criterion bn scored by l1 (no BatchNormalization)', async () => {
    const { file, shapes, dep } = await analysed('grouped-conv');
    const r = await pruneModel(file, path.join(dir, 'bn.onnx'), { ratio: 0.5, criterion: 'bn', inputShapes: shapes, overwrite: true });
    const noBn = dep.groups.filter((g) => !g.params.some((p) => p.role === 'norm')).map((g) => g.id);
    assert.deepEqual(r.bnFallback, r.groups.filter((g) => noBn.includes(g.id)).map((g) => g.id));
    assert.ok(r.bnFallback!.length >= 2);
    assert.ok(r.groups.every((g) => g.scoredBy === (r.bnFallback!.includes(g.id) ? 'l1' : 'bn')));
    const l1 = await pruneModel(file, path.join(dir, 'l1.onnx'), { ratio: 0.5, inputShapes: shapes, overwrite: true });
    assert.equal(l1.bnFallback, undefined);
  });

  it('verifies on real samples too when given data, and says which inputs it used', async () => {
    const data = {
      data: path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'),
      labels: path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'),
    };
    const r = await pruneModel(EXAMPLE, path.join(dir, 'example.onnx'), { ratio: 0.5, ...data, overwrite: true });
    assert.ok(r.verification.passed);
    assert.equal(r.verification.inputs.real?.samples, 8);
    assert.match(r.verification.inputs.real!.description, /8 of 500 labelled samples from fashion-mnist-500-images-idx3-ubyte\.gz/);
    assert.equal(r.verification.samples, 2 + 8);
    await assert.rejects(
      pruneModel(fixture('residual').file, path.join(dir, 'r.onnx'), { ratio: 0.5, ...data, inputShapes: ['x=1x3x16x16'], overwrite: true }),
      /samples are 1x28x28, but input 'x' takes 3x16x16/,
    );
  });
});
