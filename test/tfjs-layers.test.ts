import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { inspect, openModel, pruneModel } from '../src/core/api.js';
import { ortRunner } from '../src/core/runtime/backend.js';
import { buildFixture, inputFor, loadSaved, saveFixture, tf, type Fixture } from './helpers/tfjs-fixtures.js';
import { tmpdir } from './helpers/env.js';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};
const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));

/** The IR (in ONNX Runtime) and the model itself (in TF.js) on the same input. */
async function conversionError(file: string, model: Awaited<ReturnType<typeof buildFixture>>, shape: number[]): Promise<number> {
  const t = await tf();
  const s = await openModel(file);
  const input = s.analysis.model.graph.inputs[0].name;
  const x = inputFor(shape);
  const ort = await ortRunner(s.analysis.model);
  const [name] = ort.outputNames;
  const got = (await ort.run({ [input]: { dims: shape, data: x } }))[name].data as Float32Array;
  await ort.release();
  const want = (model.predict(t.tensor(x, shape)) as import('@tensorflow/tfjs').Tensor).dataSync();
  return maxDiff(got, want) / maxAbs(want);
}

const FIXTURES: { kind: Fixture; shape: number[]; groups: number; prunable: number }[] = [
  // c1 (with bn1), c2, d1; the softmax output's group is fixed
  { kind: 'sequential', shape: [2, 16, 16, 3], groups: 4, prunable: 3 },
  // stem+residual (one group through Add), expand/dw (depthwise couples them), join (branch_a, branch_b), probs
  { kind: 'functional', shape: [2, 16, 16, 3], groups: 4, prunable: 3 },
  { kind: 'nested-shared', shape: [2, 8, 8, 3], groups: 5, prunable: 2 },
];

describe('TF.js layers models', () => {
  const dir = tmpdir('prunelens-tfjs-');
  for (const f of FIXTURES) {
    it(`${f.kind}: converts exactly, groups, prune → model.json + shards that TF.js loads and that equal the masked original`, async () => {
      const model = await buildFixture(f.kind);
      const file = await saveFixture(model, path.join(dir, f.kind));
      assert.ok(await conversionError(file, model, f.shape) < 1e-5, 'the IR computes what TF.js computes');
      const info = await inspect(file);
      assert.equal(info.format, 'tfjs-layers');
      assert.equal(info.groups!.length, f.groups, JSON.stringify(info.groups!.map((g) => [g.sources, g.reason])));
      assert.equal(info.groups!.filter((g) => g.prunable).length, f.prunable);
      if (f.kind === 'functional') {
        // the residual Add ties the stem and the projection into one group; depthwise ties expand to dw
        assert.ok(info.groups!.some((g) => g.prunable && g.sources.includes('stem') && g.sources.includes('project')));
        assert.ok(info.groups!.some((g) => g.prunable && g.sources.includes('expand') && g.members.some((m) => m.node === 'dw')));
        assert.ok(info.groups!.some((g) => g.prunable && g.sources.includes('branch_a') && g.sources.includes('branch_b')));
      }
      if (f.kind === 'nested-shared') {
        // the shared conv reads the stem and the nested model's conv: pruning either would split its kernel
        const shared = info.groups!.filter((g) => g.reason?.includes('called 2 times'));
        assert.deepEqual(shared.map((g) => g.sources[0]), ['stem', 'inner/inner_conv']);
        // its two calls' outputs meet in an Add: one group, pruned alike in both calls, so its kernel stays one
        assert.ok(info.groups!.some((g) => g.prunable && g.sources.includes('shared') && g.sources.includes('shared:1')));
      }
      const out = path.join(dir, `${f.kind}-pruned`, 'model.json');
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const r = await pruneModel(file, out, { ratio: 0.5, overwrite: true, latencyRuns: 3 });
      assert.ok(r.verification.passed);
      assert.ok(r.native?.passed && r.native.conversion.passed, JSON.stringify(r.native));
      assert.match(r.latency!.backend!, /tfjs/);
      assert.ok(r.after.macs < r.before.macs);
      assert.deepEqual(r.native!.files, ['model.json', 'group1-shard1of1.bin']);
      // TF.js loads the files (our reader plays no part) and computes what the pruned IR computes
      const saved = await loadSaved(out);
      const t = await tf();
      const x = inputFor(f.shape, 9);
      const y = (saved.predict(t.tensor(x, f.shape)) as import('@tensorflow/tfjs').Tensor).dataSync();
      const pruned = await openModel(out);
      const ort = await ortRunner(pruned.analysis.model);
      const z = (await ort.run({ [ort.inputNames[0]]: { dims: f.shape, data: x } }))[ort.outputNames[0]].data as Float32Array;
      await ort.release();
      assert.ok(maxDiff(y, z) / maxAbs(y) < 1e-5);
      assert.equal(pruned.analysis.cost.params, r.after.params);
      // layer configs follow the weights
      const json = JSON.parse(fs.readFileSync(out, 'utf8'));
      for (const layer of saved.layers) {
        const w = layer.getWeights()[0];
        if (layer.getClassName() === 'Conv2D') assert.equal((layer.getConfig() as { filters: number }).filters, w.shape[3]);
        if (layer.getClassName() === 'Dense') assert.equal((layer.getConfig() as { units: number }).units, w.shape[1]);
      }
      assert.equal(json.format, 'layers-model');
    });
  }

  it('sequential: the saved model equals the original with the removed channels zeroed in its own weights (built here in TF.js)', async () => {
    const model = await buildFixture('sequential');
    const file = await saveFixture(model, path.join(dir, 'masked'));
    const out = path.join(dir, 'masked-pruned.json');
    const r = await pruneModel(file, out, { ratio: 0.5, overwrite: true, latencyRuns: 0 });
    const t = await tf();
    // zero c1's removed filters (kernel, bias and bn1's four statistics) and c2's and d1's outputs
    const removed = new Map(r.groups.map((g) => [g.sources[0], g.removed]));
    const zero = (layer: string, axisLast: boolean[]) => {
      const l = model.getLayer(layer);
      const gone = removed.get(layer) ?? removed.get(layer === 'bn1' ? 'c1' : layer) ?? [];
      l.setWeights(l.getWeights().map((w, i) => {
        const v = w.dataSync().slice();
        const c = w.shape[w.shape.length - 1];
        if (axisLast[i] !== false) for (let k = 0; k < v.length; k++) if (gone.includes(k % c)) v[k] = 0;
        return t.tensor(v, w.shape);
      }));
    };
    zero('c1', [true, true]);
    zero('bn1', [true, true, true, true]);
    zero('c2', [true, true]);
    zero('d1', [true, true]);
    const saved = await loadSaved(out);
    const x = t.tensor(inputFor([4, 16, 16, 3], 5), [4, 16, 16, 3]);
    const a = (model.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
    const b = (saved.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
    assert.ok(maxDiff(a, b) <= 1e-6 * maxAbs(a), `max diff ${maxDiff(a, b)}`);
    // the shard is named after the output's stem, beside it
    assert.ok(fs.existsSync(path.join(dir, 'masked-pruned-group1-shard1of1.bin')));
  });

  for (const q of ['uint8', 'uint16', 'float16'] as const) {
    it(`${q}-quantised weights, files without a format field: read as TF.js reads them, written back in the same quantisation, exactly`, async () => {
      const model = await buildFixture('functional');
      const file = await saveFixture(model, path.join(dir, `q-${q}`), { quantize: q, noFormat: true });
      const t = await tf();
      const original = await loadSaved(file);
      assert.ok(await conversionError(file, original, [2, 16, 16, 3]) < 1e-5);
      const out = path.join(dir, `q-${q}-pruned.json`);
      const r = await pruneModel(file, out, { ratio: 0.3, overwrite: true, latencyRuns: 0 });
      assert.equal(r.native!.quantization, 'original');
      assert.deepEqual(r.native!.notes, []);
      const before = JSON.parse(fs.readFileSync(file, 'utf8'));
      const after = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.equal(after.format, undefined, 'no format field is invented');
      const specs = new Map(before.weightsManifest[0].weights.map((w: { name: string }) => [w.name, w]));
      for (const w of after.weightsManifest[0].weights) {
        const o = specs.get(w.name) as { quantization: Record<string, unknown> };
        // the original grid: same scale and min, so every kept value is exactly what was read
        assert.deepEqual(w.quantization, o.quantization, w.name);
      }
      // the file shrinks with the weights, in the original's bytes per weight
      assert.ok(r.after.bytes < r.before.bytes);
      const saved = await loadSaved(out);
      const kept = new Set<number>();
      for (const l of original.layers) for (const w of l.getWeights()) for (const v of w.dataSync()) kept.add(v);
      for (const l of saved.layers) for (const w of l.getWeights()) for (const v of w.dataSync()) assert.ok(kept.has(v));
      void t;
      // and float32 on request
      const r2 = await pruneModel(file, path.join(dir, `q-${q}-float.json`), { ratio: 0.3, overwrite: true, latencyRuns: 0, quantization: 'none' });
      assert.equal(r2.native!.quantization, 'none');
      const f32 = JSON.parse(fs.readFileSync(path.join(dir, `q-${q}-float.json`), 'utf8'));
      assert.ok(f32.weightsManifest[0].weights.every((w: { quantization?: unknown }) => w.quantization === undefined));
    });
  }
});
