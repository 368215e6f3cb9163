/**
 * Weight sparsity from data (issue 14): SparseGPT's OBS must beat magnitude on samples it did not fit on, keep the
 * N:M pattern exact, and the report must say what was judged on what.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadModel } from '../src/core/formats/index.js';
import { sparsifyFile } from '../src/core/api.js';
import { spawnSync } from 'node:child_process';
import { CLI, EXAMPLE, ROOT, tmpdir } from './helpers/env.js';

const dir = tmpdir();
const IDX = {
  data: path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'),
  labels: path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'),
};

describe('weight sparsity from calibration data', () => {
  it('OBS beats magnitude at 50 % unstructured on held-out samples, and reports per layer', async () => {
    const mag = await sparsifyFile(EXAMPLE, path.join(dir, 'mag.onnx'), { kind: 'unstructured', ratio: 0.5 }, { ...IDX, overwrite: true });
    const obs = await sparsifyFile(EXAMPLE, path.join(dir, 'obs.onnx'), { kind: 'unstructured', ratio: 0.5 }, { ...IDX, method: 'obs', overwrite: true });
    assert.equal(mag.method, 'magnitude');
    assert.equal(obs.method, 'obs');
    for (const r of [mag, obs]) {
      assert.ok(Math.abs(r.zeroedWeights / r.weights - 0.5) < 0.01, `${r.method}: ${r.zeroedWeights} of ${r.weights}`);
      assert.match(r.quality!.data.judged, /the other \d+/);
      assert.equal(r.quality!.data.synthetic, false);
    }
    // same held-out samples for both (same seed), so the comparison is fair
    assert.equal(mag.quality!.data.judged, obs.quality!.data.judged);
    assert.equal(mag.quality!.dense.accuracy, obs.quality!.dense.accuracy);
    const [a, b] = [mag.quality!.sparse.accuracy!, obs.quality!.sparse.accuracy!];
    assert.ok(b > a + 0.05, `held-out accuracy: magnitude ${a}, OBS ${b}`);
    assert.ok(obs.quality!.sparse['rel-l2'] < mag.quality!.sparse['rel-l2']);
    assert.ok(obs.layers!.length >= 5 && obs.layers!.every((l) => l.error >= 0 && l.zeroed <= l.total));
  });

  it('OBS and Wanda keep 2:4 exact along the input channels', async () => {
    for (const method of ['obs', 'wanda'] as const) {
      const out = path.join(dir, `nm-${method}.onnx`);
      const r = await sparsifyFile(EXAMPLE, out, { kind: 'nm', n: 2, m: 4 }, { ...IDX, method, overwrite: true });
      const m = await loadModel(out);
      let runs = 0;
      for (const node of m.graph.nodes.filter((n) => n.opType === 'Conv' && n.int('group', 1) === 1)) {
        const w = m.graph.constant(node.inputs[1])!;
        const [o, c, kh, kw] = w.dims;
        const v = w.toFloat32();
        for (let oc = 0; oc < o; oc++) for (let c0 = 0; c0 + 4 <= c; c0 += 4) for (let p = 0; p < kh * kw; p++) {
          let nz = 0;
          for (let k = 0; k < 4; k++) if (v[(oc * c + c0 + k) * kh * kw + p] !== 0) nz++;
          assert.ok(nz <= 2, `${method}: ${node.name} has ${nz} of 4 non-zero at output ${oc}, channels ${c0}…, position ${p}`);
          runs++;
        }
      }
      assert.ok(runs > 1000);
      assert.ok(r.quality!.sparse.accuracy! > 0.5, `${method} 2:4 held-out accuracy ${r.quality!.sparse.accuracy}`);
    }
  });

  it('Wanda and OBS without data say so; the CLI rejects --recover with --sparsity', async () => {
    await assert.rejects(sparsifyFile(EXAMPLE, path.join(dir, 'x.onnx'), { kind: 'unstructured', ratio: 0.5 }, { method: 'obs' }), /give --data/);
    assert.ok(!fs.existsSync(path.join(dir, 'x.onnx')));
    const r = spawnSync(process.execPath, [CLI, 'prune', EXAMPLE, '--sparsity', '0.5', '--recover', 'lsq', '-o', path.join(dir, 'y.onnx')], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--recover.*--criterion obs/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  });
});
