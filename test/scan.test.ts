import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { torchvisionModel } from '../bench/models.js';
import { loadCalibration, sliceFeeds } from '../src/core/data/calibration.js';
import { CancelledError } from '../src/core/errors.js';
import { loadModel } from '../src/core/formats/index.js';
import { pruneModel } from '../src/core/api.js';
import { createSession } from '../src/core/runtime/ort.js';
import { compareOutput, describeOutput } from '../src/core/sensitivity/metrics.js';
import { batchSize, concatChunks } from '../src/core/sensitivity/runs.js';
import { scanModel } from '../src/core/api.js';
import { resolveInputShapes } from '../src/core/shapes/inputs.js';
import { EXAMPLE, OCR_MODELS, ROOT, tmpdir } from './helpers/env.js';
import { FIXTURES } from './helpers/fixtures.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

type ScanOptions = NonNullable<Parameters<typeof scanModel>[1]>;

const hasTorch = fs.existsSync('/usr/lib/python3/dist-packages/torchvision');
const IDX = {
  data: path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'),
  labels: path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'),
};

/** conv A (half its filters exactly zero) → relu → conv C → relu → GAP → Gemm: sensitivities known by construction. */
function knownModel(dir: string): string {
  const b = new OnnxBuilder(13, 3);
  const x = b.input('x', ['N', 3, 8, 8]);
  const w = b.random([8, 3, 3, 3]);
  w.fill(0, 0, 4 * 27);
  const bias = b.random([8], 0.1);
  bias.fill(0, 0, 4);
  const a = b.op('Conv', [x, b.init('a.w', [8, 3, 3, 3], w), b.init('a.b', [8], bias)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const c = b.conv(b.op('Relu', [a]), 8, 8);
  const f = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('Relu', [c])])]);
  const logits = b.gemm(f, 8, 10);
  b.output(logits, ['N', 10]);
  const file = path.join(dir, 'known.onnx');
  fs.writeFileSync(file, b.build());
  return file;
}

/** The scan's metric at `ratio` for one group equals pruning that group for real and comparing outputs. */
async function checkAgainstPruning(file: string, opts: ScanOptions, groups: number[] | undefined, ratio: number, dir: string) {
  const scan = await scanModel(file, { ...opts, ratios: [ratio], only: groups?.map(String) });
  const model = await loadModel(file);
  const { shapes } = resolveInputShapes(model, opts.inputShapes);
  const data = await loadCalibration(model, shapes, opts as Parameters<typeof loadCalibration>[2]);
  const batch = batchSize(model, data.count);
  const run = async (f: string) => {
    const s = await createSession(f);
    try {
      const parts = [];
      for (let i = 0; i < data.count; i += batch) parts.push((await s.run(sliceFeeds(data, i, Math.min(batch, data.count - i))))[s.outputNames[0]]);
      const { dims, data: y } = concatChunks(parts);
      return describeOutput(s.outputNames[0], dims, y);
    } finally {
      await s.release();
    }
  };
  const dense = await run(file);
  if (groups) assert.equal(scan.targets.length, groups.length);
  for (const t of scan.targets) {
    const out = path.join(dir, `${path.basename(file)}-${t.id}.onnx`);
    const rep = await pruneModel(file, out, { plan: { [String(t.id)]: ratio }, inputShapes: opts.inputShapes });
    assert.equal(rep.groups[0].kept, t.points[0].kept, `group ${t.id}: same channels kept`);
    const pruned = await run(out);
    const m = compareOutput(dense, pruned.data, data.labels);
    const s = t.points[0].metrics;
    assert.ok(Math.abs(m['rel-l2'] - s['rel-l2']) <= 1e-4 + 1e-3 * s['rel-l2'], `group ${t.id}: rel-l2 ${m['rel-l2']} vs scan ${s['rel-l2']}`);
    if (m.agreement !== undefined) assert.ok(Math.abs(m.agreement - s.agreement!) <= 1 / data.count + 1e-9, `group ${t.id}: agreement`);
    if (m.accuracy !== undefined) assert.ok(Math.abs(m.accuracy - s.accuracy!) <= 1 / data.count + 1e-9, `group ${t.id}: accuracy`);
  }
}

describe('sensitivity scan', () => {
  const dir = tmpdir();

  it('known by construction: exactly-zero channels cost nothing, channels feeding the output cost a lot', async () => {
    const file = knownModel(dir);
    const r = await scanModel(file, { metric: 'rel-l2', samples: 16, ratios: [0.25, 0.5, 0.75] });
    assert.equal(r.targets.length, 2);
    const [a, c] = r.targets;
    assert.deepEqual(a.sources, ['Conv_0']);
    assert.ok(a.points[0].loss < 1e-6 && a.points[1].loss < 1e-6, `zero filters: ${a.points.map((p) => p.loss)}`);
    assert.ok(a.points[2].loss > 1e-3, 'beyond the dead half it costs');
    assert.ok(c.points[1].loss > 0.1, `conv feeding the classifier: ${c.points[1].loss}`);
    assert.ok(c.sensitivity > a.sensitivity);
    assert.equal(r.data.kind, 'synthetic');
    assert.match(r.notes.join(' '), /fidelity/);
    // params and MACs really removed at 50 %: conv A loses 4 filters (4·27 + 4) and conv C 4 input channels (8·4·9)
    assert.equal(a.points[1].paramsRemoved, 4 * 27 + 4 + 8 * 4 * 9);
    assert.ok(a.points[1].macsRemoved > 0);
  });

  it('every generated pattern: the scan of each group equals pruning it (grouped convs, GroupNorm, LayerNorm, …)', async () => {
    for (const f of FIXTURES) {
      const file = path.join(dir, `${f.name}.onnx`);
      fs.writeFileSync(file, f.build());
      await checkAgainstPruning(file, { samples: 3, metric: 'rel-l2' }, undefined, 0.5, dir);
    }
  });

  it('the masked scan equals real pruning on the example model with its labelled data', async () => {
    await checkAgainstPruning(EXAMPLE, { ...IDX, samples: 500, metric: 'accuracy' }, [0, 1, 2, 3, 4, 5], 0.5, dir);
  });

  // (not the det model: on noise its probability map is ~1e-5 everywhere, and float rounding alone moves it by %)
  it('the masked scan equals real pruning on PP-OCRv4 rec (per-position classes)', async () => {
    await checkAgainstPruning(OCR_MODELS[1], { inputShapes: ['x=1x3x48x160'], samples: 4 }, [0, 5, 12, 20], 0.5, dir);
  });

  it('the masked scan equals real pruning on ResNet-18', async (t) => {
    if (!hasTorch) {
      assert.ok(!process.env.CI, 'torchvision is missing on CI');
      return t.skip('Debian python3-torchvision not installed');
    }
    await checkAgainstPruning(torchvisionModel(ROOT, 'resnet18'), { samples: 2 }, [0, 7, 11], 0.3, dir);
  });

  it('masks on consumer inputs give the same results as the masked twin (weights), on real models', async () => {
    const models: [string, ScanOptions][] = [
      [EXAMPLE, {}],
      [OCR_MODELS[2], { inputShapes: ['x=1x3x48x192'] }],
      [OCR_MODELS[1], { inputShapes: ['x=1x3x48x160'] }],
    ];
    if (hasTorch) for (const n of ['mobilenet_v3_small', 'googlenet']) models.push([torchvisionModel(ROOT, n), {}]);
    else assert.ok(!process.env.CI, 'torchvision is missing on CI');
    for (const [file, o] of models) {
      const opts: ScanOptions = { ...o, samples: 2, ratios: [0.5], metric: 'rel-l2' };
      const a = await scanModel(file, { ...opts, maskAt: 'inputs' });
      const b = await scanModel(file, { ...opts, maskAt: 'weights' });
      assert.equal(a.targets.length, b.targets.length);
      a.targets.forEach((x, i) => {
        const [p, q] = [x.points[0].metrics['rel-l2'], b.targets[i].points[0].metrics['rel-l2']];
        assert.ok(Math.abs(p - q) <= 1e-3 * q + 1e-5, `${path.basename(file)} group ${x.id}: ${p} vs ${q}`);
      });
    }
  });

  it('scans every group of the example, PP-OCR rec/cls and reuses the prefix', async () => {
    const r = await scanModel(EXAMPLE, { samples: 8, ratios: [0.3, 0.7] });
    assert.equal(r.targets.length, 6);
    assert.equal(r.timing.uncut, 0);
    for (const f of OCR_MODELS.slice(1)) {
      const shape = f.includes('rec') ? 'x=1x3x48x160' : 'x=1x3x48x192';
      const s = await scanModel(f, { samples: 2, ratios: [0.5], inputShapes: [shape] });
      assert.ok(s.targets.length >= 20, `${path.basename(f)}: ${s.targets.length} groups scanned`);
      for (const t of s.targets) assert.ok(Number.isFinite(t.points[0].loss), `${t.id}: finite loss`);
    }
  });

  it('several steps stacked in one run give the same numbers as one step a run', async () => {
    const opts: ScanOptions = { ...IDX, samples: 32, metric: 'accuracy' };
    const stacked = await scanModel(EXAMPLE, { ...opts, stack: true });
    const single = await scanModel(EXAMPLE, opts);
    assert.ok(stacked.timing.runs < single.timing.runs / 3, `${stacked.timing.runs} runs stacked vs ${single.timing.runs}`);
    stacked.targets.forEach((t, i) => t.points.forEach((p, j) => {
      const q = single.targets[i].points[j];
      assert.equal(p.metrics.accuracy, q.metrics.accuracy);
      assert.ok(Math.abs(p.metrics['rel-l2'] - q.metrics['rel-l2']) < 1e-5, `group ${t.id} at ${p.ratio}`);
    }));
  });

  it('a tiny memory budget runs targets from the inputs, with the same results', async () => {
    const opts = { samples: 8, ratios: [0.5], metric: 'rel-l2' as const };
    const a = await scanModel(EXAMPLE, opts);
    const b = await scanModel(EXAMPLE, { ...opts, maxMemoryMB: 0.001 });
    assert.ok(b.timing.uncut >= b.targets.length - 1, 'all but a group reading the graph input directly');
    a.targets.forEach((t, i) => assert.ok(Math.abs(t.points[0].loss - b.targets[i].points[0].loss) < 1e-5));
  });

  it('is deterministic, cached by model + data + settings, and cancellable without leaving files', async () => {
    const cacheDir = path.join(dir, 'cache');
    const opts = { samples: 8, ratios: [0.2, 0.6], cacheDir };
    const a = await scanModel(EXAMPLE, opts);
    assert.equal(a.timing.cached, false);
    const b = await scanModel(EXAMPLE, opts);
    assert.equal(b.timing.cached, true);
    assert.deepEqual(b.targets, a.targets);
    const c = await scanModel(EXAMPLE, { ...opts, cacheDir: undefined });
    assert.deepEqual(c.targets, a.targets, 'same seed, same numbers');
    const d = await scanModel(EXAMPLE, { ...opts, seed: 2 });
    assert.equal(d.timing.cached, false, 'other data: not the cached result');
    const files = fs.readdirSync(cacheDir).length;

    const ctl = new AbortController();
    await assert.rejects(
      scanModel(EXAMPLE, { ...opts, seed: 3, onProgress: (e) => e.done >= 3 && ctl.abort(), signal: ctl.signal }),
      CancelledError,
    );
    assert.equal(fs.readdirSync(cacheDir).length, files, 'a cancelled scan caches nothing');
  });

  it('unstructured mode: per layer, zeroed weights counted, MACs unchanged', async () => {
    const r = await scanModel(EXAMPLE, { mode: 'unstructured', samples: 8, ratios: [0.1, 0.5, 0.9], metric: 'rel-l2' });
    assert.ok(r.targets.length >= 7);
    for (const t of r.targets) {
      assert.equal(t.kind, 'layer');
      assert.deepEqual(t.points.map((p) => p.macsRemoved), [0, 0, 0]);
      t.points.forEach((p) => assert.equal(p.paramsRemoved, Math.floor(p.ratio * t.params + 1e-9)));
      assert.ok(t.points[0].loss <= t.points[2].loss + 1e-6);
    }
    assert.match(r.notes.join(' '), /no faster/);
  });
});
