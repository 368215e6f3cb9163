import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { inspect, openModel, pruneModel } from '../src/core/api.js';
import { ortRunner } from '../src/core/runtime/backend.js';
import { writeGraphFixture } from './helpers/tfjs-graph-fixture.js';
import { inputFor, tf } from './helpers/tfjs-fixtures.js';
import { tmpdir } from './helpers/env.js';

/** TF.js's own graph-model loader on files from disk (our reader plays no part). */
async function loadGraph(file: string) {
  const t = await tf();
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const groups = json.weightsManifest as { paths: string[]; weights: unknown[] }[];
  const data = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p)))));
  return t.loadGraphModel(t.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: groups.flatMap((g) => g.weights) as never,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }));
}

async function irOutput(file: string, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const s = await openModel(file);
  const r = await ortRunner(s.analysis.model);
  try {
    return (await r.run({ image: { dims: shape, data: x } })).Identity.data as Float32Array;
  } finally {
    await r.release();
  }
}

const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
};

describe('TF.js graph models', () => {
  const dir = tmpdir('prunelens-tfjs-graph-');

  it('a GraphDef converts exactly; its groups span fused convs, Concat and a Reshape before MatMul; prune → the same GraphDef, smaller', async () => {
    const file = writeGraphFixture(path.join(dir, 'g'));
    const t = await tf();
    const shape = [2, 12, 12, 3];
    const x = inputFor(shape, 2);
    const g = await loadGraph(file);
    const want = (g.execute({ image: t.tensor(x, shape) }, 'Identity') as import('@tensorflow/tfjs').Tensor).dataSync();
    assert.ok(rel(await irOutput(file, x, shape), want) < 1e-5, 'the IR computes what TF.js computes');
    const info = await inspect(file);
    assert.equal(info.format, 'tfjs-graph');
    assert.deepEqual(info.warnings, []);
    // block1 and branch_b meet in the Concat; the map the Reshape flattens for fc is NCHW-flattened, so head and fc join
    const g0 = info.groups!.find((x2) => x2.sources.includes('block1/conv'))!;
    assert.ok(g0.prunable && g0.sources.includes('branch_b/conv/conv'), JSON.stringify(g0));
    assert.ok(info.groups!.some((x2) => x2.prunable && x2.sources.includes('head/conv')));
    const out = path.join(dir, 'pruned', 'model.json');
    fs.mkdirSync(path.dirname(out));
    const r = await pruneModel(file, out, { ratio: 0.5, overwrite: true, latencyRuns: 0 });
    assert.ok(r.verification.passed && r.native!.passed && r.native!.conversion.passed);
    const before = JSON.parse(fs.readFileSync(file, 'utf8'));
    const after = JSON.parse(fs.readFileSync(out, 'utf8'));
    // the same graph: every node, op and input as read; only Const shapes (and the flatten target) changed
    assert.deepEqual(after.modelTopology.node.map((n: { name: string; op: string; input?: string[] }) => [n.name, n.op, n.input]),
      before.modelTopology.node.map((n: { name: string; op: string; input?: string[] }) => [n.name, n.op, n.input]));
    assert.deepEqual(after.signature, before.signature);
    const shapes = Object.fromEntries(after.weightsManifest[0].weights.map((w: { name: string; shape: number[] }) => [w.name, w.shape]));
    const kept = shapes['block1/kernel'][3];
    assert.ok(kept < 8);
    assert.deepEqual(shapes['branch_a/dw_kernel'], [3, 3, kept, 1]);
    const constShape = (name: string) => after.modelTopology.node.find((n: { name: string }) => n.name === name).attr.value.tensor.tensorShape.dim.map((d: { size: string }) => Number(d.size));
    assert.deepEqual(constShape('block1/kernel'), shapes['block1/kernel']);
    // TF.js runs the written files; they compute what the pruned IR computes
    const p = await loadGraph(out);
    const y = (p.execute({ image: t.tensor(x, shape) }, 'Identity') as import('@tensorflow/tfjs').Tensor).dataSync();
    assert.ok(rel(await irOutput(out, x, shape), y) < 1e-5);
    // fc's kernel lost the rows of the removed join channels (6·6 per channel), and the flatten target follows it
    assert.equal(shapes['fc/kernel'][0], 6 * 6 * (shapes['branch_a/dw_kernel'][2] + shapes['branch_b/kernel'][3]));
  });

  it('an op PruneLens does not convert stays opaque: its channels cannot be pruned, and the model is refused for pruning in one line', async () => {
    const file = writeGraphFixture(path.join(dir, 'opaque'), { opaque: true });
    const info = await inspect(file);
    assert.ok(info.warnings.some((w) => /FancyOp/.test(w) && /inspected but not scanned or pruned/.test(w)), info.warnings.join('\n'));
    const head = info.groups!.find((g) => g.sources.includes('head/conv'))!;
    assert.equal(head.prunable, false);
    assert.match(head.reason!, /tfjs:FancyOp 'head\/fancy\/op' is not understood/);
    await assert.rejects(pruneModel(file, path.join(dir, 'opaque-out.json'), { ratio: 0.5 }), /FancyOp/);
    assert.ok(!fs.existsSync(path.join(dir, 'opaque-out.json')));
  });
});
