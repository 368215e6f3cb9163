/**
 * The real TF.js models inside nsfwjs@4.4.0 (MobileNetV2 and InceptionV3 layers models, uint8-quantised, model.json
 * without a format field; and its MobileNetV2 graph model): load, scan, prune at 30 % and 60 %, save, reload in TF.js
 * from the files written, and verify.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { inspect, openModel, pruneModel, scanModel } from '../src/core/api.js';
import { ortRunner } from '../src/core/runtime/backend.js';
import { nsfwjsModel, type NsfwModel } from '../bench/nsfwjs.js';
import { inputFor, loadSaved, tf } from './helpers/tfjs-fixtures.js';
import { tmpdir } from './helpers/env.js';

const MODELS: { name: NsfwModel; side: number; groups: number; prunable: number; scanOnly?: string[] }[] = [
  { name: 'mobilenet_v2', side: 224, groups: 28, prunable: 27 },
  // 94 convolutions: scan a few groups, prune all
  { name: 'inception_v3', side: 299, groups: 62, prunable: 61, scanOnly: ['0', '20', '40', '60'] },
  { name: 'mobilenet_v2_mid', side: 224, groups: 26, prunable: 25 },
];

async function reloadAndRun(file: string, graph: boolean, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const t = await tf();
  if (!graph) return (((await loadSaved(file)).predict(t.tensor(x, shape))) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const groups = json.weightsManifest as { paths: string[]; weights: unknown[] }[];
  const data = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p)))));
  const m = await t.loadGraphModel(t.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: groups.flatMap((g) => g.weights) as never,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }));
  return (m.execute({ input: t.tensor(x, shape) }, 'Identity') as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
}

describe('real TF.js models (nsfwjs@4.4.0)', () => {
  const dir = tmpdir('prunelens-nsfwjs-');
  for (const m of MODELS) {
    it(`${m.name}: load, scan, prune at 30 % and 60 %, save, reload in TF.js, verify`, async (t) => {
      const file = nsfwjsModel(m.name);
      if (!file) {
        assert.ok(!process.env.CI, 'nsfwjs could not be fetched on CI');
        return t.skip('nsfwjs@4.4.0 could not be fetched from the npm registry');
      }
      const graph = m.name.endsWith('_mid');
      const info = await inspect(file);
      assert.equal(info.format, graph ? 'tfjs-graph' : 'tfjs-layers');
      assert.equal(info.groups!.length, m.groups);
      assert.equal(info.groups!.filter((g) => g.prunable).length, m.prunable);
      assert.deepEqual(info.warnings, []);
      const scan = await scanModel(file, { ratios: [0.3, 0.6], samples: 8, only: m.scanOnly });
      assert.equal(scan.targets.length, m.scanOnly?.length ?? m.prunable);
      assert.ok(scan.targets.every((x) => x.points.every((p) => Number.isFinite(p.loss))));
      const before = JSON.parse(fs.readFileSync(file, 'utf8'));
      const quant = new Map(before.weightsManifest.flatMap((g: { weights: { name: string; quantization: unknown }[] }) => g.weights).map((w: { name: string; quantization: unknown }) => [w.name, w.quantization]));
      for (const ratio of [0.3, 0.6]) {
        const out = path.join(dir, `${m.name}-${ratio}`, 'model.json');
        fs.mkdirSync(path.dirname(out), { recursive: true });
        const r = await pruneModel(file, out, { ratio, latencyRuns: 0 });
        assert.ok(r.verification.passed && r.verification.exercised, JSON.stringify(r.verification.outputs));
        assert.ok(r.native!.passed && r.native!.conversion.passed, JSON.stringify(r.native));
        assert.ok(r.after.macs < r.before.macs * (1 - ratio / 2), `MACs ${r.before.macs} → ${r.after.macs}`);
        // every weight keeps its uint8 quantisation, on its original grid: the files shrink with the weights
        const after = JSON.parse(fs.readFileSync(out, 'utf8'));
        for (const w of after.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights) as { name: string; quantization: unknown }[]) {
          assert.deepEqual(w.quantization, quant.get(w.name), w.name);
        }
        assert.ok(r.after.bytes < r.before.bytes * (1 - ratio / 2), `bytes ${r.before.bytes} → ${r.after.bytes}`);
        assert.equal(after.format, before.format, 'the format field stays as read (absent in the layers models)');
        // TF.js reloads the written files, and they compute what the pruned (verified) IR computes
        const shape = [2, m.side, m.side, 3];
        const x = inputFor(shape, 7).map((v) => (v + 1) * 127.5);
        const y = await reloadAndRun(out, graph, x, shape);
        const s = await openModel(out);
        const ort = await ortRunner(s.analysis.model);
        const z = (await ort.run({ [ort.inputNames[0]]: { dims: shape, data: x } }))[ort.outputNames[0]].data as Float32Array;
        await ort.release();
        let d = 0;
        for (let i = 0; i < y.length; i++) d = Math.max(d, Math.abs(y[i] - z[i]));
        assert.ok(d < 1e-4, `TF.js vs the pruned IR: ${d}`);
        assert.equal(s.analysis.cost.params, r.after.params);
      }
    });
  }
});
